"""`kefu calendar status|sync`: coverage shown, sync idempotent, admins' edits kept."""

import datetime
import zoneinfo
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from kefu.core.models import CalendarDay

pytestmark = pytest.mark.django_db

NATIONAL_DAY = datetime.date(2026, 10, 1)
LATE_NOVEMBER = datetime.datetime(2026, 11, 23, 10, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("calendar", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def snapshot():
    return list(CalendarDay.objects.order_by("date").values_list("date", "is_workday", "note",
                                                                 "source"))


def test_status_lists_the_years_present_and_warns_about_next_year():
    with time_machine.travel(LATE_NOVEMBER, tick=False):
        out, err = run("status")
    assert out.startswith("已有年份: 2004, ")
    assert out.strip().endswith("2025, 2026")
    assert "缺少 2027 年的 365 天" in err
    assert "2026" not in err


def test_status_is_quiet_when_both_years_are_there():
    with time_machine.travel(datetime.datetime(2025, 3, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))):
        _out, err = run("status")
    assert err == ""


def test_sync_is_idempotent():
    before = snapshot()
    out, _err = run("sync")
    assert "新增 0 天，更新 0 天" in out
    assert snapshot() == before


def test_sync_puts_back_a_missing_day_once():
    CalendarDay.objects.filter(date=NATIONAL_DAY).delete()
    out, _err = run("sync", "--year", "2026")
    assert "新增 1 天，更新 0 天" in out
    day = CalendarDay.objects.get(date=NATIONAL_DAY)
    assert (day.is_workday, day.note, day.source) == (False, "国庆节", "chinesecalendar")
    out, _err = run("sync", "--year", "2026")
    assert "新增 0 天，更新 0 天" in out


def test_sync_keeps_a_manual_edit_unless_told_to_overwrite():
    CalendarDay.objects.filter(date=NATIONAL_DAY).update(is_workday=True, note="公司安排值班",
                                                         source="manual")
    run("sync")
    day = CalendarDay.objects.get(date=NATIONAL_DAY)
    assert (day.is_workday, day.note, day.source) == (True, "公司安排值班", "manual")

    out, _err = run("sync", "--year", "2026", "--overwrite")
    assert "更新 1 天" in out
    day.refresh_from_db()
    assert (day.is_workday, day.note, day.source) == (False, "国庆节", "chinesecalendar")


def test_dry_run_writes_nothing():
    CalendarDay.objects.filter(date=NATIONAL_DAY).delete()
    out, _err = run("sync", "--dry-run")
    assert "未写入" in out
    assert not CalendarDay.objects.filter(date=NATIONAL_DAY).exists()


def test_a_year_chinesecalendar_does_not_know_is_a_command_error():
    before = CalendarDay.objects.count()
    with pytest.raises(CommandError, match="2030"):
        run("sync", "--year", "2030")
    assert CalendarDay.objects.count() == before
    assert not CalendarDay.objects.filter(date__year=2030).exists()
