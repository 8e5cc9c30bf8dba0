"""热线接听流程 (B6): a call the engineer cannot take now is passed on; an engineer takes the
任务单 within 15 natural minutes, and the monitor tells supervisors once when nobody did."""

import datetime

import pytest

from kefu.accounts.models import Department
from kefu.accounts.services import staff_create
from kefu.core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from kefu.core.models import Notification
from kefu.tickets import services
from kefu.tickets.models import Ticket
from kefu.tickets.monitor import sla_monitor_pass
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

S = Ticket.Status


def kinds(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def call(make_ticket):
    return make_ticket(now="2026-11-23 10:00")


@pytest.fixture
def handed(call, agent, engineer):
    """Handed to eric at 10:05: to be taken by 10:20."""
    return services.ticket_handoff(actor=agent, ticket=call, to=engineer, reason="热线工程师忙",
                                   now=at("2026-11-23 10:05"))


def test_a_hand_off_starts_a_15_minute_clock_and_tells_the_engineer(handed, engineer, agent):
    t = fresh(handed)
    assert t.handoff_due_at == at("2026-11-23 10:20") and t.handoff_to == engineer
    assert t.handoff_breached_at is None and t.status == S.NEW  # nobody owns it yet
    event = t.events.get(verb="handed_off")
    assert event.actor == agent and "陈工" in event.summary and "15 分钟" in event.summary
    assert event.data["reason"] == "热线工程师忙" and event.data["to"] == engineer.pk
    assert kinds(engineer) == ["handoff"] and kinds(agent) == []
    assert Notification.objects.get(recipient=engineer).url == f"/tickets/{t.pk}/"


def test_the_clock_is_natural_minutes_over_lunch_and_after_hours(make_ticket, agent):
    t = services.ticket_handoff(actor=agent, ticket=make_ticket(now="2026-11-23 11:50"),
                                now=at("2026-11-23 11:55"))
    assert t.handoff_due_at == at("2026-11-23 12:10")
    t = services.ticket_handoff(actor=agent, ticket=make_ticket(now="2026-11-21 22:00"),
                                now=at("2026-11-21 22:00"))  # Saturday night
    assert t.handoff_due_at == at("2026-11-21 22:15")


def test_the_limit_is_a_setting(call, agent, settings):
    settings.TICKET_HANDOFF_MINUTES = 30
    t = services.ticket_handoff(actor=agent, ticket=call, now=at("2026-11-23 10:05"))
    assert t.handoff_due_at == at("2026-11-23 10:35")


def test_accepted_within_the_limit(handed, engineer):
    t = services.ticket_handoff_accept(actor=engineer, ticket=handed, now=at("2026-11-23 10:15"))
    assert (t.owner, t.status) == (engineer, S.IN_PROGRESS)
    t = fresh(t)
    assert (t.owner, t.status, t.handoff_to, t.handoff_due_at) == (engineer, S.IN_PROGRESS, None, None)
    event = t.events.get(verb="handoff_accepted")
    assert event.data == {"handoff_minutes": 10, "handoff_within": True}
    assert "10 分钟" in event.summary and "超过" not in event.summary


def test_accepted_after_the_limit(handed, engineer):
    t = services.ticket_handoff_accept(actor=engineer, ticket=handed, now=at("2026-11-23 10:27"))
    event = t.events.get(verb="handoff_accepted")
    assert event.data == {"handoff_minutes": 22, "handoff_within": False}
    assert "超过 15 分钟" in event.summary


def test_accepting_from_the_pool_or_in_progress(handed, engineer, dispatcher, agent):
    Ticket.objects.filter(pk=handed.pk).update(status=S.UNASSIGNED)
    assert services.ticket_handoff_accept(actor=engineer, ticket=handed).status == S.IN_PROGRESS
    owned = services.ticket_handoff(actor=engineer, ticket=handed, now=at("2026-11-23 11:00"))
    t = services.ticket_handoff_accept(actor=agent, ticket=owned, now=at("2026-11-23 11:05"))
    assert (t.owner, t.status) == (agent, S.IN_PROGRESS)


def test_the_monitor_tells_supervisors_and_the_engineer_once(handed, engineer, supervisor, agent):
    assert sla_monitor_pass(now=at("2026-11-23 10:19"))["handoff_breached"] == 0
    first = sla_monitor_pass(now=at("2026-11-23 10:21"))
    again = sla_monitor_pass(now=at("2026-11-23 10:22"))
    assert (first["handoff_breached"], again["handoff_breached"]) == (1, 0)
    assert kinds(supervisor) == ["handoff_breach"]
    assert kinds(engineer) == ["handoff", "handoff_breach"]
    assert "handoff_breach" not in kinds(agent)
    t = fresh(handed)
    assert t.handoff_breached_at == at("2026-11-23 10:21")
    assert t.events.filter(verb="handoff_breached").count() == 1


def test_a_hand_off_to_nobody_in_particular_tells_the_supervisors(call, agent, supervisor):
    services.ticket_handoff(actor=agent, ticket=call, now=at("2026-11-23 10:05"))
    assert sla_monitor_pass(now=at("2026-11-23 10:21"))["handoff_breached"] == 1
    assert kinds(supervisor) == ["handoff_breach"]


def test_the_monitor_catches_up_after_downtime(handed, supervisor):
    counts = sla_monitor_pass(now=at("2026-11-24 09:00"))
    assert counts["handoff_breached"] == 1
    assert fresh(handed).handoff_breached_at == at("2026-11-24 09:00")
    assert kinds(supervisor).count("handoff_breach") == 1


def test_an_accepted_hand_off_is_never_reported(handed, engineer, supervisor):
    services.ticket_handoff_accept(actor=engineer, ticket=handed, now=at("2026-11-23 10:10"))
    assert sla_monitor_pass(now=at("2026-11-23 10:30"))["handoff_breached"] == 0
    assert "handoff_breach" not in kinds(supervisor)


def test_a_late_accept_after_the_report_still_works(handed, engineer, supervisor):
    sla_monitor_pass(now=at("2026-11-23 10:21"))
    t = services.ticket_handoff_accept(actor=engineer, ticket=handed, now=at("2026-11-23 10:40"))
    assert t.owner == engineer and t.handoff_due_at is None
    assert sla_monitor_pass(now=at("2026-11-23 11:00"))["handoff_breached"] == 0


def test_a_new_hand_off_restarts_the_clock_and_is_reported_afresh(handed, agent, engineer, supervisor):
    sla_monitor_pass(now=at("2026-11-23 10:21"))
    t = services.ticket_handoff(actor=agent, ticket=handed, to=engineer, now=at("2026-11-23 10:30"))
    assert t.handoff_due_at == at("2026-11-23 10:45") and t.handoff_breached_at is None
    assert sla_monitor_pass(now=at("2026-11-23 10:46"))["handoff_breached"] == 1
    assert kinds(supervisor).count("handoff_breach") == 2
    assert kinds(engineer).count("handoff") == 2


def test_a_resolved_ticket_is_not_reported(handed, agent, dispatcher, supervisor):
    t = services.ticket_assign(actor=dispatcher, ticket=handed, owner=dispatcher)
    Ticket.objects.filter(pk=t.pk).update(status=S.RESOLVED, handoff_due_at=at("2026-11-23 10:20"))
    assert sla_monitor_pass(now=at("2026-11-23 10:30"))["handoff_breached"] == 0


def test_a_dispatcher_assigning_the_ticket_ends_the_hand_off(handed, dispatcher, engineer, supervisor):
    t = services.ticket_assign(actor=dispatcher, ticket=handed, owner=engineer,
                               now=at("2026-11-23 10:12"))
    assert t.handoff_due_at is None and t.handoff_to is None
    assert t.events.get(verb="assigned").data["handoff_within"] is True
    assert sla_monitor_pass(now=at("2026-11-23 10:30"))["handoff_breached"] == 0


# Who may hand off and accept ----------------------------------------------------------------


def test_only_a_ticket_someone_can_take_is_handed_off(call, agent):
    Ticket.objects.filter(pk=call.pk).update(status=S.ON_HOLD)
    with pytest.raises(InvalidTransition):
        services.ticket_handoff(actor=agent, ticket=call)
    Ticket.objects.filter(pk=call.pk).update(status=S.RESOLVED)
    with pytest.raises(InvalidTransition):
        services.ticket_handoff(actor=agent, ticket=call)
    assert fresh(call).handoff_due_at is None


def test_the_engineer_named_must_be_able_to_take_tickets(call, agent, manager):
    with pytest.raises(ValidationFailed) as info:
        services.ticket_handoff(actor=agent, ticket=call, to=manager)
    assert info.value.fields["to"] == [services.HANDOFF_TO_INVALID]


def test_a_stale_version_is_refused(call, agent):
    with pytest.raises(Conflict):
        services.ticket_handoff(actor=agent, ticket=call, version=call.version + 1)


def test_accepting_without_a_hand_off_is_refused(call, engineer):
    with pytest.raises(InvalidTransition):
        services.ticket_handoff_accept(actor=engineer, ticket=call)


def test_another_engineer_cannot_take_a_hand_off_named_for_someone(handed, other_region_engineer):
    with pytest.raises(PermissionDenied):
        services.ticket_handoff_accept(actor=other_region_engineer, ticket=handed)
    assert fresh(handed).handoff_to is not None and fresh(handed).owner is None


def test_a_dispatcher_may_take_over_a_named_hand_off(handed, dispatcher):
    t = services.ticket_handoff_accept(actor=dispatcher, ticket=handed, now=at("2026-11-23 10:06"))
    assert t.owner == dispatcher


def test_any_engineer_may_take_an_unnamed_hand_off(call, agent, other_region_engineer):
    services.ticket_handoff(actor=agent, ticket=call, now=at("2026-11-23 10:05"))
    t = services.ticket_handoff_accept(actor=other_region_engineer, ticket=call)
    assert t.owner == other_region_engineer


def test_someone_who_cannot_take_tickets_cannot_accept(call, agent, manager, nobody):
    services.ticket_handoff(actor=agent, ticket=call, now=at("2026-11-23 10:05"))
    for user in (manager, nobody):
        with pytest.raises(PermissionDenied):
            services.ticket_handoff_accept(actor=user, ticket=call)


def test_an_engineer_of_another_department_cannot_take_an_unnamed_hand_off(make_ticket, agent,
                                                                           department, regions):
    rnd = Department.objects.create(code="rnd", name="研发部")
    tech = Department.objects.create(code="tech", name="技术支持部")
    outsider = staff_create(username="rita", password="kefu-Test-2026", display_name="任工",
                            employee_no="E010", role="engineer", department=rnd)
    insider = staff_create(username="tom", password="kefu-Test-2026", display_name="唐工",
                           employee_no="E011", role="engineer", department=tech)
    t = make_ticket(department=tech)
    services.ticket_handoff(actor=agent, ticket=t, now=at("2026-11-23 10:05"))
    with pytest.raises(PermissionDenied) as info:
        services.ticket_handoff_accept(actor=outsider, ticket=t)
    assert str(info.value.message) == str(services.HANDOFF_OTHER_DEPARTMENT)
    assert services.ticket_handoff_accept(actor=insider, ticket=t).owner == insider


def test_the_window_is_natural_time_not_working_time():
    assert services.handoff_window() == datetime.timedelta(minutes=15)


def test_a_claim_takes_the_pending_hand_off_too(handed, engineer, supervisor):
    services.ticket_claim(actor=engineer, ticket=handed, now=at("2026-11-23 10:12"))
    t = fresh(handed)
    assert t.owner == engineer and t.handoff_due_at is None and t.handoff_to is None
    claimed = t.events.get(verb="claimed")
    assert claimed.data["handoff_minutes"] == 7 and claimed.data["handoff_within"] is True
    # nothing left for the monitor to report
    assert sla_monitor_pass(now=at("2026-11-23 10:30"))["handoff_breached"] == 0
