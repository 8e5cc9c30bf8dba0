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
