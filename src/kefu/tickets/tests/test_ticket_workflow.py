import datetime

import pytest

from kefu.core.errors import Conflict, InvalidTransition, ValidationFailed
from kefu.tickets import services, workflow
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

S = Ticket.Status


def _run(action, ticket, agent, dispatcher):
    now = at("2026-11-23 15:00")
    calls = {
        "queue": lambda: services.ticket_queue(actor=dispatcher, ticket=ticket, now=now),
        "assign": lambda: services.ticket_assign(actor=dispatcher, ticket=ticket, owner=agent),
        "hold": lambda: services.ticket_hold(actor=agent, ticket=ticket, reason="等配件", now=now),
        "resume": lambda: services.ticket_resume(actor=agent, ticket=ticket, now=now),
        "resolve": lambda: services.ticket_resolve(actor=agent, ticket=ticket, solution="更换搓纸轮",
                                                   result="恢复正常", now=now),
        "confirm": lambda: services.ticket_confirm(actor=agent, ticket=ticket, how="电话确认"),
        "close": lambda: services.ticket_close(actor=agent, ticket=ticket, now=now),
        "reopen": lambda: services.ticket_reopen(actor=agent, ticket=ticket, reason="又卡纸", now=now),
    }
    return calls[action]()


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", ["queue", "assign", "hold", "resume", "resolve", "confirm", "close", "reopen"])
def test_every_action_from_every_status(make_ticket, agent, dispatcher, status, action):
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(
        status=status, on_hold_since=at("2026-11-23 14:00") if status == S.ON_HOLD else None,
        resolved_at=at("2026-11-23 14:30") if status in (S.RESOLVED, S.AWAITING_CALLBACK, S.CLOSED) else None,
    )
    ticket.refresh_from_db()
    allowed_from, to = workflow.TRANSITIONS[action]
    if status in allowed_from:
        result = _run(action, ticket, agent, dispatcher)
        assert result.status == to
        assert Ticket.objects.get(pk=ticket.pk).status == to
        assert result.events.first().actor in (agent, dispatcher)
    else:
        with pytest.raises(InvalidTransition) as info:
            _run(action, ticket, agent, dispatcher)
        assert ticket.number in str(info.value.message)
        assert Ticket.objects.get(pk=ticket.pk).status == status


def test_the_whole_life_of_a_ticket(make_ticket, agent, dispatcher):
    t = make_ticket()
    t = services.ticket_assign(actor=dispatcher, ticket=t, owner=agent)
    t = services.ticket_resolve(actor=agent, ticket=t, solution="清理进纸通道", result="已恢复")
    assert t.status == S.RESOLVED  # no confirmation yet: stays resolved, not closed
    t = services.ticket_confirm(actor=agent, ticket=t, how="客户电话确认")
    t = services.ticket_close(actor=agent, ticket=t)
    assert t.status == S.CLOSED and t.closed_at is not None
    assert list(t.events.values_list("verb", flat=True)) == [
        "closed", "confirmed", "resolved", "assigned", "created"]
    assert t.events.get(verb="resolved").customer_visible


def test_resolution_needs_a_solution_and_a_result(make_ticket, agent, dispatcher):
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    with pytest.raises(ValidationFailed) as info:
        services.ticket_resolve(actor=agent, ticket=t, solution="", result="好了")
    assert info.value.fields["solution"] == [services.SOLUTION_REQUIRED]
    assert Ticket.objects.get(pk=t.pk).status == S.IN_PROGRESS


def test_a_stale_version_conflicts(make_ticket, agent, dispatcher):
    t = make_ticket()
    services.ticket_assign(actor=dispatcher, ticket=t, owner=agent, version=1)
    with pytest.raises(Conflict):
        services.ticket_assign(actor=dispatcher, ticket=t, owner=dispatcher, version=1)
    assert Ticket.objects.get(pk=t.pk).owner == agent


def test_reopen_within_the_window_restarts_the_clock_and_is_counted(make_ticket, agent, dispatcher):
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    t = services.ticket_resolve(actor=agent, ticket=t, solution="重装驱动", result="正常",
                                now=at("2026-11-23 11:00"))
    t = services.ticket_reopen(actor=agent, ticket=t, reason="故障复现", now=at("2026-11-24 10:00"))
    assert t.status == S.IN_PROGRESS and t.reopen_count == 1 and t.resolved_at is None
    assert t.resolve_due_at == at("2026-11-25 10:00")


def test_reopen_after_the_window_is_refused(make_ticket, agent, dispatcher, settings):
    settings.TICKET_REOPEN_DAYS = 7
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    t = services.ticket_resolve(actor=agent, ticket=t, solution="s", result="r",
                                now=at("2026-11-02 11:00"))
    with pytest.raises(InvalidTransition):
        services.ticket_reopen(actor=agent, ticket=t, reason="again",
                               now=at("2026-11-02 11:00") + datetime.timedelta(days=8))
    assert Ticket.objects.get(pk=t.pk).status == S.RESOLVED


def test_backdated_services_stamp_events_and_history_with_the_business_time(make_ticket, agent,
                                                                            dispatcher):
    t = make_ticket(now="2026-11-02 09:00")
    t = services.ticket_assign(actor=dispatcher, ticket=t, owner=agent, now=at("2026-11-02 09:05"))
    assert t.events.get(verb="created").at == at("2026-11-02 09:00")
    assert t.events.get(verb="assigned").at == at("2026-11-02 09:05")
    assert t.events.get(verb="assigned").summary == "派单给 王丽"
    assert sorted(h.history_date for h in t.history.all()) == [at("2026-11-02 09:00"),
                                                               at("2026-11-02 09:05")]
