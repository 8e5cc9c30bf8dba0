import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.core.errors import CalendarMissing, ValidationFailed
from kefu.core.models import CalendarDay
from kefu.core.workcalendar import (
    add_calendar_time,
    add_working_days,
    add_working_time,
    is_workday,
    working_time_between,
)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=SH)


def minutes(n):
    return datetime.timedelta(minutes=n)


@pytest.fixture(autouse=True)
def fresh_cache(working_calendar):
    yield


def test_it_carries_friday_evening_over_the_weekend():
    assert add_working_time(at("2026-11-20 17:50"), minutes(30)) == at("2026-11-23 09:20")


def test_it_skips_the_national_day_holiday_for_working_days():
    assert add_working_days(at("2025-09-30 10:00"), 2) == at("2025-10-10 10:00")
    assert add_working_days(datetime.date(2025, 9, 30), 2) == datetime.date(2025, 10, 10)


def test_adjusted_working_weekends_count_and_plain_saturdays_do_not():
    assert is_workday(datetime.date(2025, 9, 28))  # Sunday, 调休上班
    assert is_workday(datetime.date(2025, 10, 11))  # Saturday, 调休上班
    assert not is_workday(datetime.date(2025, 9, 27))  # plain Saturday
    assert CalendarDay.objects.get(date="2025-09-28").note == "调休上班"
    assert CalendarDay.objects.get(date="2025-10-01").note == "国庆节"


def test_saturday_before_the_holiday_rolls_to_the_adjusted_sunday():
    # Friday 2025-09-26 17:30 + 1 h: 30 min on Friday, then Sunday 09:00 (调休) + 30 min.
    assert add_working_time(at("2025-09-26 17:30"), minutes(60)) == at("2025-09-28 09:30")


def test_it_skips_the_lunch_break():
    assert add_working_time(at("2026-11-23 11:30"), minutes(60)) == at("2026-11-23 14:00")
    assert working_time_between(at("2026-11-23 11:00"), at("2026-11-23 14:00")) == minutes(90)


def test_time_running_out_at_noon_ends_at_noon():
    assert add_working_time(at("2026-11-23 11:00"), minutes(60)) == at("2026-11-23 12:00")


def test_a_start_outside_working_hours_begins_at_the_next_opening():
    assert add_working_time(at("2026-11-23 07:00"), minutes(15)) == at("2026-11-23 09:15")
    assert add_working_time(at("2026-11-23 12:30"), minutes(15)) == at("2026-11-23 13:45")


def test_working_time_between_is_negative_backwards():
    assert working_time_between(at("2026-11-23 10:00"), at("2026-11-23 09:00")) == -minutes(60)


def test_working_days_backwards():
    assert add_working_days(datetime.date(2025, 10, 9), -1) == datetime.date(2025, 9, 30)


def test_natural_clock_ignores_the_calendar():
    assert add_calendar_time(at("2025-10-01 10:00"), minutes(90)) == at("2025-10-01 11:30")


def test_a_date_with_no_calendar_row_raises_and_never_guesses():
    CalendarDay.objects.filter(date__year=2026, date__month=12).delete()
    with pytest.raises(CalendarMissing) as info:
        add_working_time(at("2026-11-30 17:00"), minutes(120))
    assert "2026-12-01" in str(info.value.message)


def test_an_admin_edit_takes_effect_at_once():
    day = CalendarDay.objects.get(date="2026-11-23")
    day.is_workday = False
    day.note = "临时停工"
    day.save()
    assert add_working_time(at("2026-11-20 17:50"), minutes(30)) == at("2026-11-24 09:20")


def test_a_year_entered_by_another_process_is_used_without_a_restart():
    """A worker that found next year missing must not keep the miss: an administrator enters
    the year in the admin or imports it (another process, so no signal reaches this one) and
    the next intake here finds it."""
    missing = list(CalendarDay.objects.filter(date__year=2026, date__month=12).order_by("date"))
    CalendarDay.objects.filter(date__year=2026, date__month=12).delete()
    with pytest.raises(CalendarMissing):
        add_working_time(at("2026-11-30 17:00"), minutes(120))
    CalendarDay.objects.bulk_create(missing)  # no post_save: as from another process
    assert add_working_time(at("2026-11-30 17:00"), minutes(120)) == at("2026-12-01 10:00")


def test_an_edit_made_elsewhere_is_used_after_the_cache_time(monkeypatch):
    from kefu.core import workcalendar

    now = [1000.0]
    monkeypatch.setattr(workcalendar, "_clock", lambda: now[0])
    workcalendar.clear_cache()
    assert is_workday(datetime.date(2026, 11, 23))
    CalendarDay.objects.filter(date="2026-11-23").update(is_workday=False)  # no signal
    now[0] += workcalendar.CACHE_SECONDS - 1
    assert is_workday(datetime.date(2026, 11, 23))  # still the year read a moment ago
    now[0] += 2
    assert not is_workday(datetime.date(2026, 11, 23))


def test_bad_working_hours_setting_is_a_clear_error(settings):
    settings.WORKING_HOURS = "18:00-09:00"
    with pytest.raises(ValidationFailed):
        add_working_time(at("2026-11-23 10:00"), minutes(5))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_working_time(datetime.datetime(2026, 11, 23, 10, 0), minutes(5))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.datetimes(min_value=datetime.datetime(2025, 1, 1), max_value=datetime.datetime(2025, 12, 31)),
    duration=st.integers(min_value=0, max_value=500 * 60),
)
def test_between_inverts_add(start, duration):
    a = start.replace(tzinfo=SH)
    d = datetime.timedelta(minutes=duration)
    end = add_working_time(a, d)
    assert working_time_between(a, end) == d
    assert end >= a
