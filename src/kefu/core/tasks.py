"""Huey jobs of the core app."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kefu.core import dbstats


@db_periodic_task(crontab(hour="3", minute="17"))
def refresh_planner_statistics():
    """Every night: the database's statistics, so the query plans follow the data's growth
    (SQLite keeps none by itself; see kefu.core.dbstats)."""
    dbstats.refresh()
    return {"ok": True}
