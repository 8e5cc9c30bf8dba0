"""`kefu ticket_stats [--rebuild]`: the daily ticket counts behind the monthly report.

Without options it checks the stored counts against a live count and exits non-zero when they
differ; ``--rebuild`` recounts them from the tickets (after a bulk load or a restore)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kefu.tickets import stats


class Command(BaseCommand):
    help = _("检查或重建工单日统计（月度报表的数据来源）")

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help=_("按工单重新统计"))

    def handle(self, *args, rebuild=False, **options):
        if rebuild:
            rows = stats.rebuild()
            self.stdout.write(_("已重建工单日统计：%(rows)s 行。") % {"rows": rows})
            return
        stored, live = stats.stored_counts(), stats.live_counts()
        if stored != live:
            differ = len(set(stored.items()) ^ set(live.items()))
            raise CommandError(_("工单日统计与工单不一致（%(n)s 处），请运行 kefu ticket_stats --rebuild。")
                               % {"n": differ})
        self.stdout.write(_("工单日统计与工单一致。"))
