"""复发 (B11): after the reopen window a returning fault is a new ticket linked to the old one."""

import datetime

import pytest

from kefu.core.errors import InvalidTransition, ValidationFailed
from kefu.tickets import services
from kefu.tickets.models import Ticket
from kefu.tickets.services import REOPEN_WINDOW_PASSED
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

S = Ticket.Status
RESOLVED_AT = at("2026-11-02 11:00")
LATE = RESOLVED_AT + datetime.timedelta(days=8)


@pytest.fixture
def old_fault(make_ticket, agent, dispatcher, customer, department, config, settings):
    """A ticket with contact, asset and department, resolved on 11-02, seen 8 days later."""
    settings.TICKET_REOPEN_DAYS = 7
    t = make_ticket(now="2026-11-02 09:00", priority="urgent", contact=customer.contacts.first(),
                    asset=customer.assets.first(), department=department)
    t = services.ticket_assign(actor=dispatcher, ticket=t, owner=agent, now=at("2026-11-02 09:05"))
    return services.ticket_resolve(actor=agent, ticket=t, solution="更换搓纸轮", result="正常",
                                   now=RESOLVED_AT)


def test_reopen_after_the_window_points_to_a_follow_up(old_fault, agent):
    with pytest.raises(InvalidTransition) as info:
        services.ticket_reopen(actor=agent, ticket=old_fault, reason="又卡纸", now=LATE)
    assert info.value.message == str(REOPEN_WINDOW_PASSED) % {"days": 7}
    assert info.value.code == "reopen_window_passed"


@pytest.mark.parametrize("status", [S.RESOLVED, S.AWAITING_CALLBACK, S.CLOSED])
def test_it_creates_a_linked_ticket_with_events_on_both(old_fault, agent, status):
    Ticket.objects.filter(pk=old_fault.pk).update(status=status)
    original = Ticket.objects.get(pk=old_fault.pk)
    new = services.ticket_follow_up(actor=agent, ticket=original, reason="同样位置又卡纸", now=LATE)

    new = Ticket.objects.get(pk=new.pk)
    assert new.pk != original.pk and new.number != original.number
    assert new.linked_to == original and list(original.follow_ups.all()) == [new]
    same = ("customer_id", "contact_id", "asset_id", "channel_id", "ticket_type_id", "priority_id",
            "department_id")
    assert [getattr(new, f) for f in same] == [getattr(original, f) for f in same]
    assert new.contact_id and new.asset_id and new.department_id  # the fixture set them all
    assert new.subject == "复发：打印机卡纸"
    assert "同样位置又卡纸" in new.description and original.number in new.description
    assert new.status == S.NEW and new.created_at == LATE and new.created_by == agent
    assert new.resolve_due_at is not None  # taken in through ticket_create: SLA deadlines set

    on_new = new.events.get(verb="linked")
    on_old = original.events.get(verb="linked")
    assert on_new.data["linked_ticket"] == original.pk and original.number in on_new.summary
    assert on_old.data["linked_ticket"] == new.pk and new.number in on_old.summary
    assert "关联工单" in on_new.summary and "关联工单" in on_old.summary
    assert on_new.at == on_old.at == LATE
    assert Ticket.objects.get(pk=original.pk).status == status  # the original is left as it was


@pytest.mark.parametrize("status", [S.NEW, S.UNASSIGNED, S.IN_PROGRESS, S.ON_HOLD])
def test_it_is_refused_from_an_open_ticket(make_ticket, agent, status):
    t = make_ticket()
    Ticket.objects.filter(pk=t.pk).update(status=status)
    count = Ticket.objects.count()
    with pytest.raises(InvalidTransition) as info:
        services.ticket_follow_up(actor=agent, ticket=t, reason="又坏了")
    assert t.number in str(info.value.message)
    assert Ticket.objects.count() == count
    assert not t.events.filter(verb="linked").exists()


def test_it_needs_a_reason(old_fault, agent):
    count = Ticket.objects.count()
    with pytest.raises(ValidationFailed) as info:
        services.ticket_follow_up(actor=agent, ticket=old_fault, reason="  ", now=LATE)
    assert "reason" in info.value.fields
    assert Ticket.objects.count() == count


def test_an_asset_no_longer_the_customers_is_left_out(old_fault, agent, west_customer):
    old_fault.asset.customer = west_customer  # sold on since
    old_fault.asset.save()
    new = services.ticket_follow_up(actor=agent, ticket=old_fault, reason="又卡纸", now=LATE)
    assert new.asset_id is None and new.customer_id == old_fault.customer_id
