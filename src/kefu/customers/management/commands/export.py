"""`kefu export customers FILE.xlsx`: every customer and asset, in the import template's format.

The file holds phones, ID numbers and addresses in clear, like the page's export (which needs the
export_customers permission): whoever runs this already has the server and its keys.
"""

from importlib import import_module

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kefu.customers import excel
from kefu.customers.models import Customer

SUBJECTS = ("customers",)
# The import command's module is called "import", which Python cannot name in an import statement.
progress_bar = import_module("kefu.customers.management.commands.import").progress_bar


class Command(BaseCommand):
    help = _("把客户和设备导出为 Excel（与导入模板同一格式）：kefu export customers 文件.xlsx")

    def add_arguments(self, parser):
        parser.add_argument("subject", help=_("导出什么：目前只有 customers"))
        parser.add_argument("path", help=_("要写入的 .xlsx 文件"))

    def handle(self, subject, path, **options):
        if subject not in SUBJECTS:
            raise CommandError(_("不能导出“%(subject)s”：目前只能导出 %(allowed)s。")
                               % {"subject": subject, "allowed": ", ".join(SUBJECTS)})
        try:
            with progress_bar(self.stderr) as bar:
                task = bar.add_task(_("导出客户"), total=None)
                counts = excel.export_to_path(
                    Customer.objects.all(), path,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        except OSError as exc:
            raise CommandError(
                _("无法写入 %(path)s：%(error)s") % {"path": path, "error": exc}) from None
        self.stdout.write(_("已导出客户 %(c)s 个、设备 %(a)s 台到 %(path)s。") % {
            "c": counts.customers, "a": counts.assets, "path": path})
