import datetime
from zoneinfo import ZoneInfo

import pytest

from kefu.tickets import services
from kefu.tickets.models import Channel, Priority, TicketType
from kefu.tickets.services import ticket_create

SH = ZoneInfo("Asia/Shanghai")


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.fixture
def config(db, working_calendar):
    # Transactional tests flush the tables the data migration filled: load the defaults again
    # (the migration's loader only adds what is missing).
    from importlib import import_module

    from django.apps import apps

    import_module("kefu.tickets.migrations.0002_default_configuration").load(apps, None)
    return {
        "phone": Channel.objects.get(code="phone"),
        "fault": TicketType.objects.get(code="fault"),
        "consult": TicketType.objects.get(code="consult"),
        "urgent": Priority.objects.get(code="urgent"),
        "normal": Priority.objects.get(code="normal"),
        "low": Priority.objects.get(code="low"),
    }


@pytest.fixture
def make_ticket(agent, customer, config):
    def make(now="2026-11-23 10:00", priority="normal", kind="fault", **extra):
        return ticket_create(
            actor=agent, customer=customer, channel=config["phone"], ticket_type=config[kind],
            priority=config[priority], subject="打印机卡纸", now=at(now), **extra,
        )

    return make


@pytest.fixture
def desk(make_ticket, agent, dispatcher):
    """One ticket per queue, seen from 2026-11-24 12:00: pool, overdue, due soon, on hold,
    awaiting confirmation."""
    pool_new = make_ticket(now="2026-11-24 11:00")                      # due Wed 11:00
    overdue = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-20 10:00"),
                                     owner=agent)                        # due Mon 11-23 10:00
    soon = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-23 13:30"),
                                  owner=agent)                           # due Tue 11-24 13:30
    held = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-19 10:00"),
                                  owner=agent)
    held = services.ticket_hold(actor=agent, ticket=held, reason="等配件", now=at("2026-11-19 11:00"))
    resolved = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-24 09:00"),
                                      owner=dispatcher)
    resolved = services.ticket_resolve(actor=dispatcher, ticket=resolved, solution="s", result="r")
    return {"pool": pool_new, "overdue": overdue, "soon": soon, "held": held, "resolved": resolved}
