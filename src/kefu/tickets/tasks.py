"""Huey jobs of the tickets app."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kefu.tickets.monitor import sla_monitor_pass


@db_periodic_task(crontab(minute="*"))
def sla_monitor():
    """Every minute: warnings, breaches and escalations (idempotent; catches up after downtime)."""
    return sla_monitor_pass()
