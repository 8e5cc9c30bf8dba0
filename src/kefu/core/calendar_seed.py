"""Seed ``CalendarDay`` from the ``chinesecalendar`` package (statutory holidays and 调休)."""

import datetime

import chinese_calendar

HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def known_years():
    """The years chinesecalendar has full data for."""
    first = min(chinese_calendar.holidays).year
    last = max(chinese_calendar.holidays).year
    return range(first, last + 1)


def day_row(day: datetime.date):
    workday = chinese_calendar.is_workday(day)
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    note = ""
    if name and on_holiday:
        note = HOLIDAY_NAMES.get(name, name)
    elif name and workday and day.weekday() >= 5 or day in chinese_calendar.workdays and day.weekday() >= 5:
        note = "调休上班"
    return workday, note


def sync(model, years=None, overwrite=False):
    """Insert the rows chinesecalendar knows; keep manual edits unless ``overwrite``.

    ``model`` is passed in so a data migration can use its historical model.
    Returns (created, updated).
    """
    years = list(years or known_years())
    existing = {
        row.date: row for row in model.objects.filter(date__year__in=years)
    }
    create, update = [], []
    for year in years:
        day = datetime.date(year, 1, 1)
        while day.year == year:
            workday, note = day_row(day)
            row = existing.get(day)
            if row is None:
                create.append(model(date=day, is_workday=workday, note=note, source="chinesecalendar"))
            elif (overwrite or row.source == "chinesecalendar") and (
                row.is_workday != workday or row.note != note
            ):
                row.is_workday, row.note, row.source = workday, note, "chinesecalendar"
                update.append(row)
            day += datetime.timedelta(days=1)
    model.objects.bulk_create(create, batch_size=1000)
    model.objects.bulk_update(update, ["is_workday", "note", "source"], batch_size=1000)
    return len(create), len(update)
