"""`kefu import customers FILE.xlsx`: the page's Excel import, for files too big for a browser.

Rows go through the same importer (and so the same services) as the page. Rejected rows are
listed on stderr and make the command exit non-zero, so a script notices; the good rows are
kept unless --all-or-nothing. --dry-run checks the whole file and keeps nothing.
"""

from contextlib import nullcontext
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kefu.core.errors import DomainError
from kefu.customers import excel

SUBJECTS = ("customers",)


def progress_bar(stream):
    """A rich progress bar on the command's stderr (rich needs the raw stream, not the wrapper)."""
    console = Console(file=getattr(stream, "_out", stream))
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def default_actor():
    """The first active superuser, else the first active member of the admin role."""
    users = get_user_model().objects.filter(is_active=True).order_by("id")
    return users.filter(is_superuser=True).first() or users.filter(groups__name="admin").first()


class Command(BaseCommand):
    help = _("从 Excel 导入客户和设备：kefu import customers 文件.xlsx [--all-or-nothing] "
             "[--as 用户名] [--dry-run]")

    def add_arguments(self, parser):
        parser.add_argument("subject", help=_("导入什么：目前只有 customers"))
        parser.add_argument("path", help=_("按导入模板填写的 .xlsx 文件"))
        parser.add_argument("--all-or-nothing", action="store_true",
                            help=_("只要有一行出错就什么都不导入"))
        parser.add_argument("--as", dest="username",
                            help=_("以哪个用户的身份导入（默认：第一个超级用户或系统管理员）"))
        parser.add_argument("--dry-run", action="store_true",
                            help=_("只检查，不保存任何数据"))

    def handle(self, subject, path, all_or_nothing, username, dry_run, **options):
        if subject not in SUBJECTS:
            raise CommandError(_("不能导入“%(subject)s”：目前只能导入 %(allowed)s。")
                               % {"subject": subject, "allowed": ", ".join(SUBJECTS)})
        file = Path(path)
        if not file.is_file():
            raise CommandError(_("找不到文件：%(path)s") % {"path": path})
        actor = self._actor(username)
        try:
            # A dry run is one transaction rolled back at the end; a real run commits in batches.
            scope = transaction.atomic() if dry_run else nullcontext()
            with progress_bar(self.stderr) as bar, scope:
                task = bar.add_task(_("导入客户"), total=None)
                result = excel.import_customers(
                    file, actor=actor, all_or_nothing=all_or_nothing,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
                if dry_run:
                    transaction.set_rollback(True)
        except DomainError as exc:
            messages = [str(m) for msgs in exc.fields.values() for m in msgs] or [str(exc.message)]
            raise CommandError(" ".join(messages)) from None
        self._report(result, dry_run)

    def _actor(self, username):
        if username:
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(_("没有这个用户：%(username)s") % {"username": username})
            return user
        user = default_actor()
        if user is None:
            raise CommandError(_("没有可用的操作人：请先建立超级用户或系统管理员，或用 --as 指定用户名。"))
        return user

    def _report(self, result, dry_run):
        if result.rolled_back:
            self.stderr.write(_("有错误行，按“全部成功才导入”的要求，本次没有导入任何数据。"))
        else:
            self.stderr.write(
                _("新建客户 %(c)s 个，更新 %(u)s 个；新建设备 %(ac)s 台，更新 %(au)s 台。") % {
                    "c": result.created, "u": result.updated,
                    "ac": result.assets_created, "au": result.assets_updated})
        if dry_run:
            self.stderr.write(_("试运行：以上结果没有保存。"))
        for error in result.errors:
            self.stderr.write(
                _("%(sheet)s 第 %(row)s 行 [%(column)s]：%(reason)s") % {
                    "sheet": error.sheet, "row": error.row, "column": error.column or "-",
                    "reason": error.reason})
        if result.errors:
            raise CommandError(_("有 %(n)s 处错误，见上。") % {"n": len(result.errors)})
