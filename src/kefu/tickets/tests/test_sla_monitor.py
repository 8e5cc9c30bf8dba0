import pytest

from kefu.core.models import Notification
from kefu.tickets import services
from kefu.tickets.models import Ticket
from kefu.tickets.monitor import sla_monitor_pass
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(make_ticket, agent, dispatcher, supervisor):
    # normal fault at Mon 09:00: resolve due Tue 09:00 (one working day), warning at 80 %
    # of 7.5 working hours = 6 h → Mon 16:30.
    t = make_ticket(now="2026-11-23 09:00")
    t = services.ticket_assign(actor=dispatcher, ticket=t, owner=agent)
    services.ticket_add_note(actor=agent, ticket=t, text="已收到，正在处理", customer_visible=True,
                             now=at("2026-11-23 09:10"))
    return Ticket.objects.get(pk=t.pk)


def kinds(user):
    """The SLA notifications the user got (the assignment's own notification left out)."""
    return sorted(Notification.objects.filter(recipient=user).exclude(kind="assigned")
                  .values_list("kind", flat=True))


def test_the_warning_time_is_stored_at_intake(owned):
    assert owned.resolve_warn_at == at("2026-11-23 16:30")
    assert owned.resolve_due_at == at("2026-11-24 09:00")


def test_the_owner_is_warned_exactly_once(owned, agent, supervisor):
    assert sla_monitor_pass(now=at("2026-11-23 16:00"))["warned"] == 0
    assert sla_monitor_pass(now=at("2026-11-23 16:31"))["warned"] == 1
    assert sla_monitor_pass(now=at("2026-11-23 16:45"))["warned"] == 0
    assert kinds(agent) == ["sla_warning"]
    assert kinds(supervisor) == []


def test_a_breach_tells_the_supervisor_and_the_owner_once_and_escalates(owned, agent, supervisor):
    sla_monitor_pass(now=at("2026-11-23 16:31"))
    first = sla_monitor_pass(now=at("2026-11-24 09:01"))
    again = sla_monitor_pass(now=at("2026-11-24 09:30"))
    assert (first["breached"], again["breached"]) == (1, 0)
    assert kinds(supervisor) == ["sla_breach"]
    assert kinds(agent) == ["sla_breach", "sla_warning"]
    ticket = Ticket.objects.get(pk=owned.pk)
    assert ticket.escalation_tier == 2 and ticket.sla_breached_at == at("2026-11-24 09:01")
    assert ticket.events.filter(verb="sla_breached").count() == 1


def test_a_pass_after_downtime_catches_up_without_a_late_warning(owned, agent, supervisor):
    counts = sla_monitor_pass(now=at("2026-11-25 12:00"))
    assert counts["breached"] == 1 and counts["warned"] == 0
    assert kinds(agent) == ["sla_breach"]


def test_on_hold_tickets_are_not_warned(owned, agent):
    services.ticket_hold(actor=agent, ticket=owned, reason="等配件", now=at("2026-11-23 10:00"))
    assert sla_monitor_pass(now=at("2026-11-24 12:00")) == {"warned": 0, "breached": 0,
                                                            "response_breached": 0,
                                                            "handoff_breached": 0}


def test_an_unanswered_ticket_breaches_its_response_time(make_ticket, supervisor):
    make_ticket(now="2026-11-23 09:00")  # response due 09:30, no customer-visible reply
    assert sla_monitor_pass(now=at("2026-11-23 09:31"))["response_breached"] == 1
    assert sla_monitor_pass(now=at("2026-11-23 09:45"))["response_breached"] == 0
    assert kinds(supervisor) == ["response_breach"]


def test_a_reopened_ticket_warns_again_on_its_new_clock(owned, agent, supervisor):
    sla_monitor_pass(now=at("2026-11-23 16:31"))
    t = services.ticket_resolve(actor=agent, ticket=owned, solution="s", result="r",
                                now=at("2026-11-23 17:00"))
    t = services.ticket_reopen(actor=agent, ticket=t, reason="复发", now=at("2026-11-24 09:00"))
    assert t.resolve_warn_at == at("2026-11-24 16:30")  # 6 working hours, lunch skipped
    assert sla_monitor_pass(now=at("2026-11-24 16:31"))["warned"] == 1
    assert kinds(agent) == ["sla_warning", "sla_warning"]


def test_the_huey_task_runs_a_pass(owned, agent):
    import time_machine

    from kefu.tickets.tasks import sla_monitor

    with time_machine.travel(at("2026-11-23 16:31"), tick=False):
        result = sla_monitor.call_local()
    assert result["warned"] == 1
