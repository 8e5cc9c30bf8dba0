import datetime
from zoneinfo import ZoneInfo

import pytest

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
