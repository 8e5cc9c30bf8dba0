"""Huey jobs of the tickets app."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kefu.tickets.monitor import sla_monitor_pass


@db_periodic_task(crontab(minute="*"))
def sla_monitor():
    """Every minute: warnings, breaches, escalations and late hot-line hand-offs (idempotent;
    catches up after downtime). Every minute matters: a hand-off is late after 15."""
    return sla_monitor_pass()
