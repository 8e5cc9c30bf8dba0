"""`kefu calendar import|export`: a year chinesecalendar does not know yet, typed from the
State Council's notice; the file's form (kefu/core/calendar_file.py), its errors, and the
admins' own edits kept."""

import datetime
import zoneinfo
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from kefu.core import calendar_file, workcalendar
from kefu.core.checks import calendar_gaps
from kefu.core.models import CalendarDay

pytestmark = pytest.mark.django_db

# A made-up notice for the tests (the real 2027 one is whatever the State Council publishes).
SAMPLE_2027 = """\
# 2027 年部分节假日安排（测试用样例）
2027-01-01..2027-01-03 休 元旦
2027-02-05 ~ 2027-02-12 休 春节
2027-02-14 班
2027-02-20 班 春节调休
2027-10-01 至 2027-10-07 休 国庆节
"""


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("calendar", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rows(year):
    return {d: (w, n) for d, w, n in
            CalendarDay.objects.filter(date__year=year).values_list("date", "is_workday", "note")}


@pytest.fixture
def notice(tmp_path):
    path = tmp_path / "2027.txt"
    path.write_text(SAMPLE_2027, encoding="utf-8")
    return path


def test_a_year_is_imported_whole_from_the_notice(notice):
    with time_machine.travel(datetime.datetime(2026, 12, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))):
        assert calendar_gaps() == [(2027, 365)]
        out, err = run("import", str(notice))
        assert calendar_gaps() == []
    assert "2027 年：新增 365 天，更新 0 天" in out and err == ""
    year = rows(2027)
    assert len(year) == 365
    assert year[datetime.date(2027, 1, 1)] == (False, "元旦")
    assert year[datetime.date(2027, 2, 14)] == (True, "调休上班")  # a Sunday at work
    assert year[datetime.date(2027, 2, 20)] == (True, "春节调休")
    assert year[datetime.date(2027, 2, 8)] == (False, "春节")  # a Monday off
    assert year[datetime.date(2027, 3, 1)] == (True, "")  # Monday by the weekday rule
    assert year[datetime.date(2027, 3, 6)] == (False, "")  # Saturday by the weekday rule
    assert set(CalendarDay.objects.filter(date__year=2027).values_list("source", flat=True)) == {"import"}


def test_deadlines_run_into_the_imported_year(notice):
    """Two working days from New Year's Eve: without 2027 this raised CalendarMissing."""
    run("import", str(notice))
    assert workcalendar.add_working_days(datetime.date(2026, 12, 31), 2) == datetime.date(2027, 1, 5)


def test_a_second_import_changes_nothing_and_a_corrected_one_updates(notice):
    run("import", str(notice))
    out, _err = run("import", str(notice))
    assert "新增 0 天，更新 0 天" in out
    notice.write_text(SAMPLE_2027.replace("2027-02-20 班 春节调休\n", ""), encoding="utf-8")
    out, _err = run("import", str(notice))
    assert "新增 0 天，更新 1 天" in out
    assert rows(2027)[datetime.date(2027, 2, 20)] == (False, "")  # a plain Saturday again


def test_an_admins_edit_is_kept_unless_overwrite(notice):
    run("import", str(notice))
    CalendarDay.objects.filter(date="2027-10-04").update(is_workday=True, note="公司值班", source="manual")
    out, err = run("import", str(notice))
    assert "更新 0 天" in out
    assert "1 天是管理员手工改过的" in err
    assert rows(2027)[datetime.date(2027, 10, 4)] == (True, "公司值班")
    out, _err = run("import", str(notice), "--overwrite")
    assert "更新 1 天" in out
    assert rows(2027)[datetime.date(2027, 10, 4)] == (False, "国庆节")


def test_export_and_import_give_back_the_same_year(tmp_path):
    """2026 from chinesecalendar, exported, removed and imported again: every day as it was,
    from a file that lists only the exceptions."""
    before = rows(2026)
    path = tmp_path / "2026.txt"
    run("export", str(path), "--year", "2026")
    text = path.read_text(encoding="utf-8")
    assert "2025" not in text and "2026-10-01..2026-10-07 休 国庆节" in text
    assert len(text.splitlines()) < 40
    CalendarDay.objects.filter(date__year=2026).delete()
    run("import", str(path))
    assert rows(2026) == before


def test_export_writes_to_the_screen_without_a_path():
    out, _err = run("export", "--year", "2026")
    assert calendar_file.parse(out) == rows(2026)


def test_dry_run_counts_and_writes_nothing(notice):
    out, _err = run("import", str(notice), "--dry-run")
    assert "2027 年：工作日" in out and "未写入" in out
    assert "2027 年：将新增 365 天，更新 0 天，保留手工修改 0 天。" in out
    assert not CalendarDay.objects.filter(date__year=2027).exists()


@pytest.mark.parametrize(("text", "message"), [
    ("2027-01-01 休 元旦\n2027-13-01 休 错\n", "第 2 行：不是有效的日期"),
    ("# 注释\n\n2027/01/01 休 元旦\n", "第 3 行：应为"),
    ("2027-01-01 放假 元旦\n", "第 1 行：“放假”应为 休 或 班"),
    ("2027-01-03..2027-01-01 休 元旦\n", "第 1 行：结束日期早于开始日期"),
    ("2027-01-01..2027-03-01 休 元旦\n", "第 1 行：一段日期应在同一年内、不超过 31 天"),
    ("2027-12-31..2028-01-01 休 元旦\n", "第 1 行：一段日期应在同一年内"),
    ("2027-01-01..2027-01-03 休 元旦\n2027-01-03 班\n", "第 2 行：2027-01-03 已在第 1 行写过"),
    ("# 只有注释\n", "文件里没有任何日期"),
    ("2027-01-01 休 " + "长" * 65 + "\n", "第 1 行：说明最多 64 个字"),
])
def test_a_bad_file_is_refused_with_its_line_and_nothing_is_written(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    before = CalendarDay.objects.count()
    with pytest.raises(CommandError, match=message):
        run("import", str(path))
    assert CalendarDay.objects.count() == before


def test_missing_arguments_and_files_are_command_errors(tmp_path):
    with pytest.raises(CommandError, match="请给出要导入的文件"):
        run("import")
    with pytest.raises(CommandError, match="无法读取"):
        run("import", str(tmp_path / "none.txt"))
    with pytest.raises(CommandError, match="--year"):
        run("export")
    with pytest.raises(CommandError, match="没有 2031 年"):
        run("export", "--year", "2031")


def test_the_cli_reports_a_bad_file_on_stderr_with_a_nonzero_exit(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "bad.txt"
    path.write_text("2027-01-01 放假\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "kefu", "calendar", "import", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "第 1 行" in result.stderr and result.stdout == ""


# The admin's page for the same import (按通知导入), for administrators without a shell.

IMPORT_URL = "/admin/core/calendarday/import/"


def admin_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_the_admin_previews_then_imports_a_pasted_notice(admin_user):
    client = admin_client(admin_user)
    changelist = client.get("/admin/core/calendarday/").content.decode()
    assert 'id="calendar-import-link"' in changelist and IMPORT_URL in changelist
    assert client.get(IMPORT_URL).status_code == 200

    preview = client.post(IMPORT_URL, {"text": SAMPLE_2027, "preview": "1"})
    html = preview.content.decode()
    assert preview.status_code == 200 and 'id="calendar-import-preview"' in html
    assert "<td>2027</td>" in html and "<td>365</td>" in html  # 365 days to add
    assert 'id="calendar-import-submit"' in html
    assert not CalendarDay.objects.filter(date__year=2027).exists()

    done = client.post(IMPORT_URL, {"text": SAMPLE_2027, "import": "1"}, follow=True)
    assert done.redirect_chain[-1][0] == "/admin/core/calendarday/"
    assert "2027 年：新增 365 天，更新 0 天。" in done.content.decode()
    assert rows(2027)[datetime.date(2027, 10, 1)] == (False, "国庆节")
    assert workcalendar.add_working_days(datetime.date(2026, 12, 31), 2) == datetime.date(2027, 1, 5)


def test_the_admin_shows_a_bad_line_and_writes_nothing(admin_user):
    response = admin_client(admin_user).post(
        IMPORT_URL, {"text": "2027-01-01 休 元旦\n2027-02-30 休 错\n", "import": "1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="calendar-import-errors"' in html and "第 2 行：不是有效的日期" in html
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_the_admin_keeps_hand_edits_unless_told_and_says_so(admin_user):
    client = admin_client(admin_user)
    client.post(IMPORT_URL, {"text": SAMPLE_2027, "import": "1"})
    CalendarDay.objects.filter(date="2027-10-04").update(is_workday=True, note="公司值班", source="manual")
    preview = client.post(IMPORT_URL, {"text": SAMPLE_2027, "preview": "1"}).content.decode()
    assert "<td>0</td><td>0</td><td>1</td>" in preview  # nothing new, nothing updated, one kept
    done = client.post(IMPORT_URL, {"text": SAMPLE_2027, "import": "1"}, follow=True).content.decode()
    assert "1 天是管理员手工改过的" in done
    assert rows(2027)[datetime.date(2027, 10, 4)] == (True, "公司值班")
    client.post(IMPORT_URL, {"text": SAMPLE_2027, "overwrite": "on", "import": "1"})
    assert rows(2027)[datetime.date(2027, 10, 4)] == (False, "国庆节")


def test_only_staff_who_may_add_and_change_days_may_import(supervisor, agent):
    """Staff who may change a day but not add one (a supervisor let into the admin) get no
    link and a refused page; people outside the admin get its login page."""
    supervisor.is_staff = True
    supervisor.save()
    client = admin_client(supervisor)
    assert supervisor.has_perm("core.change_calendarday") and not supervisor.has_perm("core.add_calendarday")
    assert 'id="calendar-import-link"' not in client.get("/admin/core/calendarday/").content.decode()
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(IMPORT_URL, {"text": SAMPLE_2027, "import": "1"}).status_code == 403
    # Not admin staff at all: the admin's login page.
    assert admin_client(agent).post(IMPORT_URL, {"text": SAMPLE_2027, "import": "1"}).status_code == 302
    assert not CalendarDay.objects.filter(date__year=2027).exists()
