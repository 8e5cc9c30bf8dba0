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
