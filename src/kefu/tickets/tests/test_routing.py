"""自动派单 (B6): round robin and least loaded over the available staff with the required skill;
intake without auto-assignment costs nothing extra."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.accounts.availability import available_staff
from kefu.accounts.models import Department, Skill, StaffProfile
from kefu.accounts.services import staff_create
from kefu.core.models import Notification
from kefu.tickets import routing, services
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

PASSWORD = "kefu-Test-2026"
S = Ticket.Status


@pytest.fixture
def server_skill(db):
    return Skill.objects.create(code="server", name="服务器")


@pytest.fixture
def tech(db):
    return Department.objects.create(code="tech", name="技术支持部",
                                     auto_assign=Department.AutoAssign.ROUND_ROBIN)


@pytest.fixture
def fault_needs_server(config, server_skill):
    config["fault"].required_skill = server_skill
    config["fault"].save()
    return config["fault"]


def hire(username, number, *, department, skills=(), available=True, active=True):
    user = staff_create(username=username, password=PASSWORD, display_name=username,
                        employee_no=number, role="engineer", department=department, skills=skills)
    if not available:
        StaffProfile.objects.filter(user=user).update(available=False)
    if not active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return user


@pytest.fixture
def team(tech, server_skill, regions, fault_needs_server):
    """Three engineers who can take server faults, and four who cannot, hired first so that
    ordering by id alone would pick them."""
    elsewhere = Department.objects.create(code="rnd", name="研发部")
    outsiders = {
        "away": hire("away", "T001", department=tech, skills=[server_skill], available=False),
        "no_skill": hire("noskill", "T002", department=tech),
        "other_dept": hire("otherdept", "T003", department=elsewhere, skills=[server_skill]),
        "left": hire("left", "T004", department=tech, skills=[server_skill], active=False),
    }
    members = [hire(f"e{i}", f"T10{i}", department=tech, skills=[server_skill]) for i in (1, 2, 3)]
    return members, outsiders


def test_available_staff_is_active_available_in_the_department_with_the_skill(team, tech, server_skill):
    members, _outsiders = team
    profiles = available_staff(department=tech, skill=server_skill)
    assert sorted(p.user.username for p in profiles) == ["e1", "e2", "e3"]
    assert available_staff(department=tech).filter(user__username="noskill").exists()


def test_round_robin_cycles_through_the_available_staff_in_order(make_ticket, team, tech):
    members, outsiders = team
    owners = [make_ticket(now=f"2026-11-23 10:0{i}", department=tech).owner for i in range(7)]
    assert owners == [*members, *members, members[0]]
    assert not Ticket.objects.filter(owner__in=outsiders.values()).exists()


def test_round_robin_with_the_same_time_still_cycles_by_id(make_ticket, team, tech):
    members, _outsiders = team
    owners = [make_ticket(now="2026-11-23 10:00", department=tech).owner for _ in range(4)]
    assert owners == [*members, members[0]]


def test_round_robin_serves_whoever_waited_longest_first(make_ticket, team, tech):
    e1, e2, e3 = team[0]
    StaffProfile.objects.filter(user=e1).update(last_assigned_at=at("2026-11-23 09:00"))
    StaffProfile.objects.filter(user=e2).update(last_assigned_at=at("2026-11-23 08:00"))
    owners = [make_ticket(now="2026-11-23 10:00", department=tech).owner for _ in range(3)]
    assert owners == [e3, e2, e1]  # never assigned, then the oldest turn


def test_an_auto_assigned_ticket_is_in_progress_with_an_event_and_the_owner_notified(
        make_ticket, team, tech):
    e1 = team[0][0]
    ticket = make_ticket(now="2026-11-23 10:00", department=tech)
    assert (ticket.status, ticket.owner) == (S.IN_PROGRESS, e1)
    assert Ticket.objects.get(pk=ticket.pk).owner == e1
    event = ticket.events.get(verb="auto_assigned")
    assert event.data == {"mode": "round_robin", "owner": e1.pk}
    assert "轮流派单" in event.summary and "e1" in event.summary
    assert StaffProfile.objects.get(user=e1).last_assigned_at == at("2026-11-23 10:00")
    note = Notification.objects.get(recipient=e1)
    assert (note.kind, note.url) == ("assigned", f"/tickets/{ticket.pk}/")


def test_nobody_available_sends_the_ticket_to_the_pool(make_ticket, team, tech):
    StaffProfile.objects.filter(department=tech).update(available=False)
    ticket = make_ticket(now="2026-11-23 10:00", department=tech)
    assert ticket.status == S.UNASSIGNED and ticket.owner is None
    assert Ticket.objects.get(pk=ticket.pk).status == S.UNASSIGNED
    assert Ticket.objects.pool().filter(pk=ticket.pk).exists()
    event = ticket.events.get(verb="auto_queued")
    assert "暂无可接单" in event.summary and event.data == {"mode": "round_robin"}
    assert not Notification.objects.exists()


def test_nobody_with_the_required_skill_sends_the_ticket_to_the_pool(make_ticket, tech, regions,
                                                                       fault_needs_server):
    hire("generalist", "T200", department=tech)
    assert make_ticket(department=tech).status == S.UNASSIGNED


def test_without_a_required_skill_anyone_available_in_the_department_is_picked(
        make_ticket, tech, regions, config):
    generalist = hire("generalist", "T200", department=tech)
    assert make_ticket(kind="consult", department=tech).owner == generalist


def test_the_type_default_department_auto_assigns_too(make_ticket, team, tech, config):
    config["fault"].default_department = tech
    config["fault"].save()
    assert make_ticket().owner == team[0][0]


def test_least_loaded_picks_the_one_with_fewest_open_tickets(make_ticket, team, tech, dispatcher):
    e1, e2, e3 = team[0]
    tech.auto_assign = Department.AutoAssign.LEAST_LOADED
    tech.save()

    def give(user, n, status=None):
        for _ in range(n):
            t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=user)
            if status:
                Ticket.objects.filter(pk=t.pk).update(status=status)

    give(e1, 2)
    give(e2, 1)
    give(e2, 3, S.CLOSED)     # closed and resolved tickets are not load
    give(e2, 1, S.RESOLVED)
    give(e3, 1, S.ON_HOLD)    # on hold is still open
    StaffProfile.objects.filter(user=e2).update(last_assigned_at=at("2026-11-23 08:00"))
    # e2 and e3 have one open ticket each; e3 was never auto-assigned, so goes first.
    first = make_ticket(now="2026-11-23 10:00", department=tech)
    assert first.owner == e3 and first.events.get(verb="auto_assigned").data["mode"] == "least_loaded"
    assert make_ticket(now="2026-11-23 10:01", department=tech).owner == e2
    # now 2 each: the oldest turn is e1 (never auto-assigned)
    assert make_ticket(now="2026-11-23 10:02", department=tech).owner == e1


def test_least_loaded_is_one_query_to_choose(make_ticket, team, tech):
    tech.auto_assign = Department.AutoAssign.LEAST_LOADED
    tech.save()
    ticket = make_ticket(department=tech)
    with CaptureQueriesContext(connection) as queries:
        list(routing.candidates(ticket, now=at("2026-11-23 10:00")))
    assert len(queries) == 1


def test_a_pick_that_lost_a_race_moves_to_the_next_person(make_ticket, team, tech, monkeypatch):
    """Another intake takes e1 between our read and our claim: we must not double up on e1."""
    e1, e2, _e3 = team[0]
    real = routing.candidates
    raced = []

    class Stale:
        def __init__(self, qs):
            self.qs = qs

        def first(self):
            chosen = self.qs.first()
            if not raced:
                raced.append(chosen.user)
                StaffProfile.objects.filter(pk=chosen.pk).update(last_assigned_at=at("2026-11-23 09:59"))
            return chosen

    monkeypatch.setattr(routing, "candidates", lambda ticket, now: Stale(real(ticket, now=now)))
    ticket = make_ticket(now="2026-11-23 10:00", department=tech)
    assert raced == [e1]
    assert ticket.owner == e2


def test_a_department_without_auto_assignment_keeps_new_tickets_new(make_ticket, team, tech):
    tech.auto_assign = Department.AutoAssign.OFF
    tech.save()
    ticket = make_ticket(department=tech)
    assert ticket.status == S.NEW and ticket.owner is None
    assert list(ticket.events.values_list("verb", flat=True)) == ["created"]
    assert not StaffProfile.objects.filter(last_assigned_at__isnull=False).exists()


def test_intake_without_auto_assignment_costs_no_extra_query(make_ticket, department):
    assert department.auto_assign == Department.AutoAssign.OFF
    make_ticket()  # warm up: the month's number sequence row, the calendar cache

    def cost(**extra):
        with CaptureQueriesContext(connection) as queries:
            make_ticket(**extra)
        return len(queries)

    assert cost(department=department) == cost()
