"""Keep the working calendar current: next year's holidays are published late (usually in
November), so after upgrading chinesecalendar run `kefu calendar sync`; `status` shows coverage."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kefu.core.calendar_seed import known_years, sync
from kefu.core.checks import calendar_gaps
from kefu.core.models import CalendarDay


class Command(BaseCommand):
    help = _("工作日历：sync 从 chinesecalendar 补充法定节假日与调休；status 显示覆盖情况。")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["sync", "status"])
        parser.add_argument("--year", type=int, action="append", help=_("只同步这些年份"))
        parser.add_argument("--overwrite", action="store_true",
                            help=_("覆盖管理员手工修改过的日期"))
        parser.add_argument("--dry-run", action="store_true",
                            help=_("只显示将同步的年份，不写入"))

    def handle(self, action, year=None, overwrite=False, dry_run=False, **options):
        if action == "status":
            years = CalendarDay.objects.dates("date", "year")
            self.stdout.write(
                _("已有年份: %(years)s") % {"years": ", ".join(str(d.year) for d in years)}
            )
            for y, n in calendar_gaps():
                msg = ngettext("缺少 %(year)s 年的 %(count)s 天", "缺少 %(year)s 年的 %(count)s 天", n)
                self.stderr.write(msg % {"year": y, "count": n})
            return
        wanted = year or list(known_years())
        unknown = [y for y in wanted if y not in known_years()]
        if unknown:
            raise CommandError(
                _("chinesecalendar 还没有 %(years)s 年的数据：请升级 chinesecalendar，或在管理后台手工维护。")
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
