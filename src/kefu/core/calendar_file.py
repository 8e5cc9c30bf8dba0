"""The working calendar as a short text file: the State Council's holiday notice, one line per
holiday or adjusted working day, for a year ``chinesecalendar`` does not know yet.

Each November the 国务院办公厅 publishes next year's 部分节假日安排. Until a ``chinesecalendar``
release carries it, an administrator types the notice into a file and imports it
(``kefu calendar import``); ``kefu calendar export --year`` writes a year in the same form, as a
template or for review. Only the days that differ from the rule "Monday to Friday work,
Saturday and Sunday rest" are listed::

    # 2026 年部分节假日安排
    2026-01-01..2026-01-03 休 元旦
    2026-01-04 班 调休上班
    2026-02-15..2026-02-23 休 春节

A line is a date or a range (``..``, ``~`` or ``至`` between two dates), then 休 (rest) or 班
(work; ``rest`` and ``work`` are accepted too), then an optional note. Blank lines and lines
beginning with ``#`` are skipped. Every day of each year named in the file is written: the days
listed as given, the others by the weekday rule.
"""

import datetime
import re

from django.db import transaction
from django.utils.translation import gettext as _

from kefu.core.errors import ValidationFailed

REST_WORDS = {"休": False, "rest": False, "班": True, "work": True}
MAX_RANGE_DAYS = 31  # the longest holiday is 9 days; a longer range is a typing error
LINE = re.compile(
    r"^(?P<start>\d{4}-\d{2}-\d{2})(?:\s*(?:\.\.|~|～|至)\s*(?P<end>\d{4}-\d{2}-\d{2}))?"
    r"\s+(?P<kind>\S+)(?:\s+(?P<note>.+?))?\s*$")
ADJUSTED = "调休上班"
NOTE_MAX = 64  # CalendarDay.note


def default_day(day: datetime.date):
    """(is_workday, note) by the weekday rule alone."""
    return day.weekday() < 5, ""


def parse(text: str):
    """{date: (is_workday, note)} for every day of every year the file names; ValidationFailed
    with the line number on the first line that cannot be read."""
    listed, origin = {}, {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        match = LINE.match(line)
        if match is None:
            raise _bad(number, _("应为“日期 休|班 说明”或“开始日期..结束日期 休|班 说明”，日期写作 2027-01-01"))
        try:
            start = datetime.date.fromisoformat(match["start"])
            end = datetime.date.fromisoformat(match["end"]) if match["end"] else start
        except ValueError:
            raise _bad(number, _("不是有效的日期")) from None
        kind = match["kind"].lower()
        if kind not in REST_WORDS:
            raise _bad(number, _("“%(kind)s”应为 休 或 班") % {"kind": match["kind"]})
        if end < start:
            raise _bad(number, _("结束日期早于开始日期"))
        if start.year != end.year or (end - start).days >= MAX_RANGE_DAYS:
            raise _bad(number, _("一段日期应在同一年内、不超过 %(days)s 天") % {"days": MAX_RANGE_DAYS})
        workday = REST_WORDS[kind]
        note = (match["note"] or "").strip()
        if len(note) > NOTE_MAX:
            raise _bad(number, _("说明最多 %(max)s 个字") % {"max": NOTE_MAX})
        if workday and not note and start.weekday() >= 5:
            note = ADJUSTED
        day = start
        while day <= end:
            if day in listed:
                raise _bad(number, _("%(date)s 已在第 %(line)s 行写过") % {
                    "date": day.isoformat(), "line": origin[day]})
            listed[day], origin[day] = (workday, note), number
            day += datetime.timedelta(days=1)
    if not listed:
        raise ValidationFailed(_("文件里没有任何日期：每行写“日期 休|班 说明”，如 2027-01-01 休 元旦。"))
    return {day: listed.get(day) or default_day(day)
            for year in sorted({day.year for day in listed}) for day in year_days(year)}


def _bad(number, problem):
    return ValidationFailed(_("第 %(line)s 行：%(problem)s。") % {"line": number, "problem": problem})


def render(rows, year: int) -> str:
    """A year's rows ({date: (is_workday, note)}) as the file: the days that differ from the
    weekday rule, consecutive days alike joined into one range."""
    lines = [_("# %(year)s 年工作日历：只列与“周一至周五上班、周六周日休息”不同的日子") % {"year": year},
             _("# 每行：日期或 开始..结束，休 或 班，说明")]
    run = None  # [start, end, workday, note]
    for day in sorted(d for d in rows if d.year == year):
        workday, note = rows[day]
        if (workday, note) == default_day(day):
            run = _flush(run, lines)
            continue
        if run and run[1] + datetime.timedelta(days=1) == day and run[2:] == [workday, note]:
            run[1] = day
            continue
        run = _flush(run, lines)
        run = [day, day, workday, note]
    _flush(run, lines)
    return "\n".join(lines) + "\n"


def _flush(run, lines):
    if run is not None:
        start, end, workday, note = run
        when = start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"
        lines.append(" ".join(filter(None, [when, "班" if workday else "休", note])))
    return None


# Which rows an import may replace, and a sync (kefu.core.calendar_seed): a day an administrator
# changed by hand ("manual") only with ``overwrite``.
IMPORT_REPLACES = ("chinesecalendar", "import")
SYNC_REPLACES = ("chinesecalendar",)


def changes(model, days, *, overwrite=False, source="import", replaces=IMPORT_REPLACES, relabel=True):
    """What writing ``days`` ({date: (is_workday, note)}) into ``model`` (CalendarDay) as rows of
    ``source`` would do, without doing it: (rows to create, rows to update, {year: (created,
    updated, kept)}). A row whose source is not in ``replaces`` is kept unless ``overwrite``;
    ``kept`` counts those that differ. A replaceable row is updated when its day differs, or,
    with ``relabel``, when only its source does (an import marks the days it confirms)."""
    years = sorted({day.year for day in days})
    existing = {row.date: row for row in model.objects.filter(date__year__in=years)}
    counts = {year: [0, 0, 0] for year in years}
    create, update = [], []
    for day, (workday, note) in sorted(days.items()):
        row = existing.get(day)
        if row is None:
            create.append(model(date=day, is_workday=workday, note=note, source=source))
            counts[day.year][0] += 1
        elif not (overwrite or row.source in replaces):
            counts[day.year][2] += (row.is_workday, row.note) != (workday, note)
        elif (row.is_workday, row.note) != (workday, note) or (relabel and row.source != source):
            row.is_workday, row.note, row.source = workday, note, source
            update.append(row)
            counts[day.year][1] += 1
    return create, update, {year: tuple(c) for year, c in counts.items()}


def apply(model, create, update):
    """The rows ``changes`` listed, written."""
    model.objects.bulk_create(create, batch_size=1000)
    model.objects.bulk_update(update, ["is_workday", "note", "source"], batch_size=1000)


def write(model, days, *, overwrite=False):
    """Import ``days`` into ``model`` as ``changes`` describes, in one transaction, and let this
    process's working calendar see them at once (the others within workcalendar.CACHE_SECONDS).
    Returns the counts of ``changes``."""
    from kefu.core import workcalendar

    with transaction.atomic():
        create, update, counts = changes(model, days, overwrite=overwrite)
        apply(model, create, update)
    workcalendar.clear_cache()
    return counts


def year_days(year):
    """Every date of ``year``, in order."""
    day = datetime.date(year, 1, 1)
    while day.year == year:
        yield day
        day += datetime.timedelta(days=1)


def days_in(year):
    return (datetime.date(year + 1, 1, 1) - datetime.date(year, 1, 1)).days


def summary(days):
    """{year: (working days, rest days)} of parsed ``days``."""
    out = {}
    for day, (workday, _note) in days.items():
        work, rest = out.get(day.year, (0, 0))
        out[day.year] = (work + workday, rest + (not workday))
    return dict(sorted(out.items()))
