"""Seed ``CalendarDay`` from the ``chinesecalendar`` package (statutory holidays and 调休)."""

import datetime

import chinese_calendar

from kefu.core.calendar_file import SYNC_REPLACES, apply, changes, year_days

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
    """Insert the rows chinesecalendar knows; keep manual edits (and imported days) unless
    ``overwrite``; a day already as chinesecalendar has it is left alone.

    ``model`` is passed in so a data migration can use its historical model.
    Returns (created, updated).
    """
    years = list(years or known_years())
    days = {day: day_row(day) for year in years for day in year_days(year)}
    create, update, _counts = changes(model, days, overwrite=overwrite, source="chinesecalendar",
                                      replaces=SYNC_REPLACES, relabel=False)
    apply(model, create, update)
    return len(create), len(update)
