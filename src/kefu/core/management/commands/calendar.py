"""Keep the working calendar current: next year's holidays are published late (usually in
November), so after upgrading chinesecalendar run `kefu calendar sync`; `status` shows coverage."""

from django.core.management.base import BaseCommand, CommandError

from kefu.core.calendar_seed import known_years, sync
from kefu.core.checks import calendar_gaps
from kefu.core.models import CalendarDay


class Command(BaseCommand):
    help = "工作日历：sync 从 chinesecalendar 补充法定节假日与调休；status 显示覆盖情况。"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["sync", "status"])
        parser.add_argument("--year", type=int, action="append", help="只同步这些年份")
        parser.add_argument("--overwrite", action="store_true", help="覆盖管理员手工修改过的日期")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, action, year=None, overwrite=False, dry_run=False, **options):
        if action == "status":
            years = CalendarDay.objects.dates("date", "year")
            self.stdout.write("已有年份: " + ", ".join(str(d.year) for d in years))
            for y, n in calendar_gaps():
                self.stderr.write(f"缺少 {y} 年的 {n} 天")
            return
        wanted = year or list(known_years())
        unknown = [y for y in wanted if y not in known_years()]
        if unknown:
            raise CommandError(
                f"chinesecalendar 还没有 {unknown} 年的数据：请升级 chinesecalendar，或在管理后台手工维护。"
            )
        if dry_run:
            self.stdout.write(f"将同步 {len(wanted)} 个年份（未写入）。")
            return
        created, updated = sync(CalendarDay, years=wanted, overwrite=overwrite)
        from kefu.core import workcalendar

        workcalendar.clear_cache()
        self.stdout.write(self.style.SUCCESS(f"新增 {created} 天，更新 {updated} 天。"))
