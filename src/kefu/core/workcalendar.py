"""Working-time arithmetic on the Chinese working calendar.

Rules:
- A date is a working day iff its ``CalendarDay`` row says so. Weekends that are 调休 working days
  (2025-09-28) count; weekdays inside a statutory holiday (2025-10-01..08) do not.
- A date with no row raises ``CalendarMissing``: next year's holidays are published late and a
  guess would move SLA deadlines silently.
- Each process keeps the years it has read. An edit in this process clears them at once (a
  signal); every other process (each gunicorn worker, the job consumers) reads a year again
  after ``CACHE_SECONDS``, and reads it again at once before reporting a missing date, so a
  year entered or imported elsewhere is used without a restart.
- Working periods within a working day come from ``settings.WORKING_HOURS`` (default
  09:00–12:00 and 13:30–18:00, Asia/Shanghai), so the lunch break is never counted.
- ``add_working_time(a, d)`` returns the earliest instant at which ``d`` of working time has
  passed since ``a``; when the time runs out exactly at the end of a period the result is that
  end (12:00, not 13:30). ``working_time_between(a, add_working_time(a, d)) == d`` always.
"""

import datetime
import threading
import time
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from kefu.core.errors import CalendarMissing, ValidationFailed

ZERO = datetime.timedelta(0)
ONE_DAY = datetime.timedelta(days=1)

CACHE_SECONDS = 60
_clock = time.monotonic
_lock = threading.Lock()
# year -> (when read, {date: is_workday})
_years: dict[int, tuple[float, dict[datetime.date, bool]]] = {}


def clear_cache():
    with _lock:
        _years.clear()


def _load_year(year):
    from kefu.core.models import CalendarDay

    rows = CalendarDay.objects.filter(date__year=year).values_list("date", "is_workday")
    days = dict(rows)
    with _lock:
        _years[year] = (_clock(), days)
    return days


def is_workday(day: datetime.date) -> bool:
    kept = _years.get(day.year)
    fresh = kept is not None and _clock() - kept[0] <= CACHE_SECONDS
    days = kept[1] if fresh else _load_year(day.year)
    try:
        return days[day]
    except KeyError:
        if fresh:
            # Kept from an earlier read: the year may have been entered since, elsewhere.
            days = _load_year(day.year)
            if day in days:
                return days[day]
        raise CalendarMissing(
            gettext("工作日历中没有 %(date)s 的记录，无法计算工作时间；请管理员补充 %(year)s 年的日历。")
            % {"date": day.isoformat(), "year": day.year}
        ) from None


@lru_cache(maxsize=8)
def parse_working_hours(spec: str):
    """'09:00-12:00,13:30-18:00' → ((time(9), time(12)), (time(13,30), time(18)))."""
    periods = []
    try:
        for part in spec.split(","):
            start, end = (datetime.time.fromisoformat(x.strip()) for x in part.split("-"))
            if not start < end:
                raise ValueError(part)
            if periods and not periods[-1][1] <= start:
                raise ValueError(part)
            periods.append((start, end))
    except ValueError:
        raise ValidationFailed(
            gettext("工作时间设置“%(spec)s”无效，应如 09:00-12:00,13:30-18:00。") % {"spec": spec}
        ) from None
    if not periods:
        raise ValidationFailed(gettext("工作时间设置为空。"))
    return tuple(periods)


def _periods():
    return parse_working_hours(settings.WORKING_HOURS)


def _tz():
    return ZoneInfo(settings.TIME_ZONE)


def _local(moment: datetime.datetime) -> datetime.datetime:
    if timezone.is_naive(moment):
        raise ValueError("working-time arithmetic needs aware datetimes")
    return moment.astimezone(_tz())


def _day_periods(day: datetime.date):
    """The working periods of ``day`` as aware local datetimes (empty on a rest day)."""
    if not is_workday(day):
        return []
    tz = _tz()
    return [
        (datetime.datetime.combine(day, s, tz), datetime.datetime.combine(day, e, tz))
        for s, e in _periods()
    ]


def add_working_time(start: datetime.datetime, duration: datetime.timedelta) -> datetime.datetime:
    """The instant when ``duration`` of working time has elapsed after ``start``."""
    if duration < ZERO:
        raise ValueError("duration must not be negative")
    current = _local(start)
    if duration == ZERO:
        return start
    remaining = duration
    day = current.date()
    while True:
        for p_start, p_end in _day_periods(day):
            if current >= p_end:
                continue
            begin = max(current, p_start)
            available = p_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
            current = p_end
        day += ONE_DAY


def working_time_between(a: datetime.datetime, b: datetime.datetime) -> datetime.timedelta:
    """Working time in [a, b); negative when b is before a."""
    a, b = _local(a), _local(b)
    if b < a:
        return -working_time_between(b, a)
    total = ZERO
    day = a.date()
    while day <= b.date():
        for p_start, p_end in _day_periods(day):
            lo, hi = max(a, p_start), min(b, p_end)
            if hi > lo:
                total += hi - lo
        day += ONE_DAY
    return total


def add_working_days(start, days: int):
    """Move ``days`` working days forward (or back, if negative), keeping the time of day.

    Accepts a date or an aware datetime and returns the same kind. The start day itself is
    not counted: Tuesday 2025-09-30 + 2 working days = Friday 2025-10-10 (Oct 1–8 are holidays).
    """
    is_dt = isinstance(start, datetime.datetime)
    local = _local(start) if is_dt else None
    day = local.date() if is_dt else start
    step = ONE_DAY if days >= 0 else -ONE_DAY
    left = abs(days)
    while left:
        day += step
        if is_workday(day):
            left -= 1
    if not is_dt:
        return day
    return datetime.datetime.combine(day, local.timetz().replace(tzinfo=None), _tz())


def add_calendar_time(start: datetime.datetime, duration: datetime.timedelta) -> datetime.datetime:
    """Natural-clock counterpart of ``add_working_time`` (24×7 SLA policies)."""
    return start + duration


def add_time(start, duration, *, working: bool):
    """One entry point for SLA code: working calendar or natural clock, chosen by policy."""
    return add_working_time(start, duration) if working else add_calendar_time(start, duration)
