"""重大问题 (B8): major and batch problems are flagged, by escalation or on their own, and listed."""

import pytest

from kefu.core.errors import Conflict, InvalidTransition, ValidationFailed
from kefu.tickets import services
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def test_it_flags_and_clears_a_major_problem_with_events(make_ticket, agent):
    t = make_ticket()
    t = services.ticket_flag_major(actor=agent, ticket=t, major=True, reason="同型号批量卡纸",
                                   now=at("2026-11-23 11:00"))
    assert fresh(t).is_major
    flagged = t.events.get(verb="major_flagged")
    assert flagged.data["reason"] == "同型号批量卡纸" and "重大问题" in flagged.summary
    assert flagged.at == at("2026-11-23 11:00") and flagged.actor == agent
    t = services.ticket_flag_major(actor=agent, ticket=t, major=False, reason="确认为个例")
    assert not fresh(t).is_major
    assert t.events.get(verb="major_cleared").data["reason"] == "确认为个例"


def test_flagging_needs_a_reason_and_a_change(make_ticket, agent):
    t = make_ticket()
    with pytest.raises(ValidationFailed) as info:
        services.ticket_flag_major(actor=agent, ticket=t, major=True, reason="")
    assert "reason" in info.value.fields
    with pytest.raises(InvalidTransition):
        services.ticket_flag_major(actor=agent, ticket=t, major=False, reason="本来就不是")
    services.ticket_flag_major(actor=agent, ticket=t, major=True, reason="批量")
    with pytest.raises(InvalidTransition):
        services.ticket_flag_major(actor=agent, ticket=t, major=True, reason="再标一次")
    assert t.events.filter(verb__in=["major_flagged", "major_cleared"]).count() == 1


def test_a_stale_version_conflicts(make_ticket, agent):
    t = make_ticket()
    with pytest.raises(Conflict):
        services.ticket_flag_major(actor=agent, ticket=t, major=True, reason="批量", version=t.version + 1)
    assert not fresh(t).is_major


def test_escalating_as_major_flags_the_ticket(make_ticket, agent):
    t = services.ticket_escalate(actor=agent, ticket=make_ticket(), reason="电话无法解决")
    assert not fresh(t).is_major
    t = services.ticket_escalate(actor=agent, ticket=t, reason="多所学校同时报修", major=True)
    row = fresh(t)
    assert row.is_major and row.escalation_tier == 3
    event = row.events.filter(verb="escalated").first()
    assert event.data["major"] is True and "重大问题" in event.summary


def test_escalating_without_major_keeps_an_existing_flag(make_ticket, agent):
    t = services.ticket_flag_major(actor=agent, ticket=make_ticket(), major=True, reason="批量")
    t = services.ticket_escalate(actor=agent, ticket=t, reason="需要专家")
    assert fresh(t).is_major


def test_the_major_list_holds_open_flagged_tickets_by_deadline(make_ticket, agent, dispatcher):
    later = make_ticket(now="2026-11-23 10:00")
    sooner = make_ticket(now="2026-11-20 10:00")
    plain = make_ticket(now="2026-11-19 10:00")
    done = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-18 10:00"),
                                  owner=agent)
    for t in (later, sooner, done):
        services.ticket_flag_major(actor=agent, ticket=t, major=True, reason="批量")
    services.ticket_resolve(actor=agent, ticket=done, solution="已更换批次配件", result="正常")
    assert list(Ticket.objects.major()) == [sooner, later]
    assert plain not in Ticket.objects.major()
