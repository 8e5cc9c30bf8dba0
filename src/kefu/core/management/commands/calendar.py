"""Keep the working calendar current. Next year's holidays are published late (usually in
November): after upgrading chinesecalendar run `kefu calendar sync`; before a release carries
them, type the State Council's notice into a file and `kefu calendar import` it (the file's form
is in kefu/core/calendar_file.py; `export` writes a year in that form). `status` shows coverage."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kefu.core import calendar_file
from kefu.core.calendar_seed import known_years, sync
from kefu.core.checks import calendar_gaps
from kefu.core.errors import ValidationFailed
from kefu.core.models import CalendarDay


class Command(BaseCommand):
    help = _("工作日历：sync 从 chinesecalendar 补充法定节假日与调休；import 导入按国务院通知写的文件；"
             "export 把某一年写成同样的文件；status 显示覆盖情况。")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["sync", "status", "import", "export"])
        parser.add_argument("path", nargs="?",
                            help=_("import：要导入的文件；export：写到这个文件（不给则输出到屏幕）"))
        parser.add_argument("--year", type=int, action="append",
                            help=_("sync：只同步这些年份；export：导出这一年"))
        parser.add_argument("--overwrite", action="store_true",
                            help=_("覆盖管理员手工修改过的日期"))
        parser.add_argument("--dry-run", action="store_true",
                            help=_("只显示将写入的内容，不写入"))

    def handle(self, action, path=None, year=None, overwrite=False, dry_run=False, **options):
        if action == "status":
            return self.status()
        if action == "import":
            return self.import_file(path, overwrite=overwrite, dry_run=dry_run)
        if action == "export":
            return self.export(path, year)
        wanted = year or list(known_years())
        unknown = [y for y in wanted if y not in known_years()]
        if unknown:
            raise CommandError(
                _("chinesecalendar 还没有 %(years)s 年的数据：请升级 chinesecalendar，或按国务院通知写成文件后"
                  "用 kefu calendar import 导入，或在管理后台手工维护。")
                % {"years": ", ".join(str(y) for y in unknown)}
            )
        if dry_run:
            msg = ngettext("将同步 %(count)s 个年份（未写入）。", "将同步 %(count)s 个年份（未写入）。",
                           len(wanted))
            self.stdout.write(msg % {"count": len(wanted)})
            return
        created, updated = sync(CalendarDay, years=wanted, overwrite=overwrite)
        from kefu.core import workcalendar

        workcalendar.clear_cache()
        self.stdout.write(self.style.SUCCESS(
            _("新增 %(created)s 天，更新 %(updated)s 天。") % {"created": created, "updated": updated}
        ))

    def status(self):
        years = CalendarDay.objects.dates("date", "year")
        self.stdout.write(
            _("已有年份: %(years)s") % {"years": ", ".join(str(d.year) for d in years)}
        )
        for y, n in calendar_gaps():
            msg = ngettext("缺少 %(year)s 年的 %(count)s 天", "缺少 %(year)s 年的 %(count)s 天", n)
            self.stderr.write(msg % {"year": y, "count": n})

    def import_file(self, path, *, overwrite, dry_run):
        if not path:
            raise CommandError(_("请给出要导入的文件，如 kefu calendar import 2027.txt"))
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(_("无法读取 %(path)s：%(error)s") % {"path": path, "error": exc}) from None
        try:
            days = calendar_file.parse(text)
        except ValidationFailed as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        for year, (work, rest) in calendar_file.summary(days).items():
            self.stdout.write(_("%(year)s 年：工作日 %(work)s 天，休息日 %(rest)s 天。") % {
                "year": year, "work": work, "rest": rest})
        if dry_run:
            _create, _update, counts = calendar_file.changes(CalendarDay, days, overwrite=overwrite)
            for year, (created, updated, kept) in counts.items():
                self.stdout.write(_("%(year)s 年：将新增 %(created)s 天，更新 %(updated)s 天，保留手工修改 %(kept)s 天。")
                                  % {"year": year, "created": created, "updated": updated, "kept": kept})
            self.stdout.write(_("（未写入）"))
            return
        counts = calendar_file.write(CalendarDay, days, overwrite=overwrite)
        for year, (created, updated, kept) in counts.items():
            self.stdout.write(self.style.SUCCESS(
                _("%(year)s 年：新增 %(created)s 天，更新 %(updated)s 天。") % {
                    "year": year, "created": created, "updated": updated}))
            if kept:
                self.stderr.write(_(
                    "%(year)s 年有 %(count)s 天是管理员手工改过的，与文件不同，已保留；要以文件为准请加 --overwrite。")
                    % {"year": year, "count": kept})

    def export(self, path, years):
        if not years or len(years) != 1:
            raise CommandError(_("请用 --year 指定要导出的一年，如 kefu calendar export --year 2026"))
        year = years[0]
        rows = {d: (w, n) for d, w, n in
                CalendarDay.objects.filter(date__year=year).values_list("date", "is_workday", "note")}
        if not rows:
            raise CommandError(_("工作日历里没有 %(year)s 年。") % {"year": year})
        text = calendar_file.render(rows, year)
        if path:
            try:
                Path(path).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(_("无法写入 %(path)s：%(error)s") % {"path": path, "error": exc}) from None
        else:
            self.stdout.write(text, ending="")
        missing = calendar_file.days_in(year) - len(rows)
        if missing:
            self.stderr.write(_("%(year)s 年缺少 %(count)s 天，导出的文件导入后会按周一至周五上班补齐。")
                              % {"year": year, "count": missing})
