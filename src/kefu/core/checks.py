"""`kefu check` / `manage.py check`: warn when next year's working calendar is missing."""


from django.core.checks import Warning, register
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.calendar_file import days_in


def calendar_gaps(today=None):
    """Years (this one and the next) that have fewer rows than days in the working calendar."""
    from kefu.core.models import CalendarDay

    today = today or timezone.localdate()
    missing = []
    for year in (today.year, today.year + 1):
        days = days_in(year)
        have = CalendarDay.objects.filter(date__year=year).count()
        if have < days:
            missing.append((year, days - have))
    return missing


@register("kefu", deploy=False)
def check_calendar(app_configs=None, **kwargs):
    try:
        gaps = calendar_gaps()
    except DatabaseError:
        return []  # not migrated yet: migrate will seed it
    return [
        Warning(
            _("工作日历缺少 %(year)s 年的 %(count)s 天，SLA 计算到这些日期会报错。") % {"year": y, "count": n},
            hint=_("升级 chinesecalendar 后运行 kefu calendar sync；或把国务院的节假日通知写成文件，用 kefu calendar import 导入；也可在管理后台“工作日历”中补充。"),
            id="kefu.W001",
        )
        for y, n in gaps
    ]
