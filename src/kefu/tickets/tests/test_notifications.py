"""Who hears about a ticket: the new owner on 派单/转派, the owner (or the supervisors) on 催单,
never the person who did it; every link opens the ticket page."""

import pytest
from django.contrib.auth.models import Group

from kefu.accounts.services import staff_create
from kefu.core.models import Notification
from kefu.tickets import services
from kefu.tickets.monitor import sla_monitor_pass
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db


def inbox(user, kind=None):
    rows = Notification.objects.filter(recipient=user)
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows)


@pytest.fixture
def second_supervisor(regions, department):
    return staff_create(username="susan", password="kefu-Test-2026", display_name="苏主管",
                        employee_no="S002", role="supervisor", department=department)


def test_an_assignment_tells_the_new_owner_once_with_the_ticket_link(make_ticket, dispatcher, agent):
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent, reason="")
    [note] = inbox(agent)
    assert note.kind == "assigned" and t.number in note.title
    assert note.url == f"/tickets/{t.pk}/"
    assert inbox(dispatcher) == []


def test_a_reassignment_tells_the_new_owner_and_not_the_old_one_again(make_ticket, dispatcher, agent,
                                                                        engineer):
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    services.ticket_assign(actor=dispatcher, ticket=t, owner=engineer, reason="需要上门")
    assert len(inbox(agent, "assigned")) == 1
    assert len(inbox(engineer, "assigned")) == 1


def test_assigning_to_oneself_tells_nobody(make_ticket, dispatcher):
    services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=dispatcher)
    assert not Notification.objects.exists()


def test_assigning_back_to_the_same_person_later_tells_them_again(make_ticket, dispatcher, agent,
                                                                   engineer):
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    t = services.ticket_assign(actor=dispatcher, ticket=t, owner=engineer)
    services.ticket_assign(actor=dispatcher, ticket=t, owner=agent)
    assert len(inbox(agent, "assigned")) == 2  # two assignments, two notifications


def test_a_chase_tells_the_owner_once_per_chase_and_not_the_actor(make_ticket, dispatcher, agent,
                                                                   supervisor):
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    services.ticket_chase(actor=dispatcher, ticket=t, note="客户来电催促")
    services.ticket_chase(actor=dispatcher, ticket=t)
    chases = inbox(agent, "chase")
    assert sorted(n.dedupe_key for n in chases) == [f"chase:{t.pk}:1", f"chase:{t.pk}:2"]
    assert any("第 2 次" in n.title for n in chases)
    assert {n.url for n in chases} == {f"/tickets/{t.pk}/"}
    assert inbox(supervisor) == [] and inbox(dispatcher) == []


def test_the_owner_recording_the_chase_is_not_told_of_it(make_ticket, dispatcher, agent, supervisor):
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    services.ticket_chase(actor=agent, ticket=t)
    assert inbox(agent, "chase") == [] and inbox(supervisor) == []


def test_a_chase_of_an_unowned_ticket_tells_the_supervisors_but_not_the_one_recording_it(
        make_ticket, agent, supervisor, second_supervisor):
    t = make_ticket()
    services.ticket_chase(actor=agent, ticket=t)
    assert [n.kind for n in inbox(supervisor)] == ["chase"]
    assert [n.kind for n in inbox(second_supervisor)] == ["chase"]
    services.ticket_chase(actor=supervisor, ticket=t)
    assert len(inbox(supervisor, "chase")) == 1
    assert len(inbox(second_supervisor, "chase")) == 2


def test_inactive_supervisors_are_not_told(make_ticket, agent, supervisor):
    supervisor.is_active = False
    supervisor.save()
    services.ticket_chase(actor=agent, ticket=make_ticket())
    assert inbox(supervisor) == []


def test_a_chase_that_rolls_back_tells_nobody(make_ticket, agent, supervisor):
    from kefu.core.errors import InvalidTransition
    from kefu.tickets.models import Ticket

    t = make_ticket()
    Ticket.objects.filter(pk=t.pk).update(status=Ticket.Status.CLOSED)
    with pytest.raises(InvalidTransition):
        services.ticket_chase(actor=agent, ticket=t)
    assert not Notification.objects.exists()


def test_monitor_notifications_open_the_ticket_page(make_ticket, supervisor):
    t = make_ticket(now="2026-11-23 09:00")
    sla_monitor_pass(now=at("2026-11-23 09:31"))  # response breach
    [note] = inbox(supervisor, "response_breach")
    assert note.url == f"/tickets/{t.pk}/"


def test_supervisors_are_the_supervisor_group(supervisor, agent):
    from kefu.tickets.routing import supervisors

    assert supervisors() == [supervisor]
    Group.objects.get(name="supervisor").user_set.add(agent)
    assert set(supervisors()) == {supervisor, agent}
