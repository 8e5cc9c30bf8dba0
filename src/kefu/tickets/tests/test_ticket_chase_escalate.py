import pytest

from kefu.core.errors import InvalidTransition, ValidationFailed
from kefu.tickets import services
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db


def test_chases_are_counted_and_every_second_raises_the_priority(make_ticket, agent):
    t = make_ticket(priority="low", kind="consult")
    t = services.ticket_chase(actor=agent, ticket=t)
    assert (t.chase_count, t.priority.code) == (1, "low")
    t = services.ticket_chase(actor=agent, ticket=t)
    assert (t.chase_count, t.priority.code) == (2, "normal")
    for _ in range(4):
        t = services.ticket_chase(actor=agent, ticket=t)
    assert (t.chase_count, t.priority.code) == (6, "urgent")  # no rank above urgent
    assert t.events.filter(verb="chased").count() == 6


def test_a_closed_ticket_cannot_be_chased(make_ticket, agent):
    t = make_ticket()
    Ticket.objects.filter(pk=t.pk).update(status=Ticket.Status.CLOSED)
    with pytest.raises(InvalidTransition):
        services.ticket_chase(actor=agent, ticket=t)


def test_escalation_climbs_three_tiers_with_a_reason(make_ticket, agent):
    t = make_ticket()
    with pytest.raises(ValidationFailed):
        services.ticket_escalate(actor=agent, ticket=t, reason="")
    t = services.ticket_escalate(actor=agent, ticket=t, reason="电话无法解决")
    t = services.ticket_escalate(actor=agent, ticket=t, reason="批量故障", major=True)
    assert t.escalation_tier == 3
    assert t.events.filter(verb="escalated", data__major=True).count() == 1
    with pytest.raises(InvalidTransition):
        services.ticket_escalate(actor=agent, ticket=t, reason="再升")


def test_a_customer_visible_note_is_the_first_response(make_ticket, agent):
    t = make_ticket(now="2026-11-23 10:00")
    services.ticket_add_note(actor=agent, ticket=t, text="内部记录：查日志", now=at("2026-11-23 10:05"))
    assert Ticket.objects.get(pk=t.pk).first_responded_at is None
    note = services.ticket_add_note(actor=agent, ticket=t, text="已收到，正在核实", customer_visible=True,
                                    expected_completion_at=at("2026-11-23 18:00"),
                                    now=at("2026-11-23 10:10"))
    assert note.customer_visible and note.expected_completion_at == at("2026-11-23 18:00")
    assert Ticket.objects.get(pk=t.pk).first_responded_at == at("2026-11-23 10:10")
    services.ticket_add_note(actor=agent, ticket=t, text="进展更新", customer_visible=True,
                             now=at("2026-11-23 11:00"))
    assert Ticket.objects.get(pk=t.pk).first_responded_at == at("2026-11-23 10:10")
