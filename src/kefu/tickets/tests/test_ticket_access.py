import pytest

from kefu.accounts.models import Department
from kefu.core.errors import NotFound, PermissionDenied
from kefu.tickets.models import Ticket
from kefu.tickets.queries import get_ticket_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(make_ticket, west_customer, agent, config):
    from kefu.tickets.services import ticket_create

    cs = Department.objects.get(code="cs")
    tech = Department.objects.create(code="tech", name="技术支持部")
    east_cs = make_ticket(department=cs)
    east_tech = make_ticket(department=tech)
    west = ticket_create(actor=agent, customer=west_customer, channel=config["phone"],
                         ticket_type=config["fault"], priority=config["normal"], subject="西区故障",
                         department=tech)
    return {"east_cs": east_cs, "east_tech": east_tech, "west": west}


def visible(user):
    return set(Ticket.objects.visible_to(user).values_list("subject", "department__code",
                                                          "customer__region__code"))


def test_desk_roles_see_by_scope(tickets, agent, dispatcher, engineer, other_region_engineer,
                                 supervisor, manager, nobody):
    everything = visible(supervisor)
    assert len(everything) == 3
    assert visible(dispatcher) == everything  # view_all_tickets
    assert visible(manager) == everything
    # alice took all three in herself, so she sees them; a colleague of her department who
    # did not sees only the cs department's ticket.
    assert visible(agent) == everything
    assert visible(nobody) == set()
    assert visible(engineer) == {("打印机卡纸", "cs", "east"), ("打印机卡纸", "tech", "east")}
    assert visible(other_region_engineer) == {("西区故障", "tech", "west")}


def test_an_agent_of_another_department_cannot_open_the_ticket(tickets, department):
    from kefu.accounts.services import staff_create

    colleague = staff_create(username="cathy", password="x", display_name="钱芳", employee_no="A009",
                             role="agent", department=department)
    assert get_ticket_for_user(colleague, tickets["east_cs"].pk).pk == tickets["east_cs"].pk
    with pytest.raises(NotFound):
        get_ticket_for_user(colleague, tickets["east_tech"].pk)


def test_permission_is_checked_after_scope(tickets, manager, nobody):
    assert get_ticket_for_user(manager, tickets["west"].pk)
    with pytest.raises(PermissionDenied):
        get_ticket_for_user(manager, tickets["west"].pk, "tickets.change_ticket")
    with pytest.raises(PermissionDenied):
        get_ticket_for_user(nobody, tickets["west"].pk)


def test_staff_without_a_department_or_regions_see_every_ticket(tickets):
    """Unscoped: an empty scope must not shrink to "their own tickets only"."""
    from kefu.accounts.services import staff_create

    floater = staff_create(username="fay", password="x", display_name="冯飞", employee_no="A010",
                           role="agent")
    assert Ticket.objects.visible_to(floater).count() == 3
    assert get_ticket_for_user(floater, tickets["west"].pk).pk == tickets["west"].pk


def test_the_scope_rule_admits_in_python_what_its_query_selects(make_ticket, west_customer, agent,
                                                               dispatcher, regions, department):
    """TicketScope is one rule in two forms: ``q()`` for the database and ``admits(row)`` for
    ticket values already read (the event feed). Every combination of owner, taker-in,
    department (ours, another, none) and customer region, under every kind of scope."""
    import itertools

    from kefu.tickets.models import TicketScope

    tech = Department.objects.create(code="tech", name="技术支持部")
    combos = itertools.product((agent, dispatcher, None), (agent, dispatcher),
                               (department, tech, None), (None, west_customer))
    for owner, taker, dept, customer in combos:
        ticket = make_ticket()
        Ticket.objects.filter(pk=ticket.pk).update(
            owner=owner, created_by=taker, department=dept,
            customer=customer or ticket.customer)
    east, west = regions["east"].pk, regions["west"].pk
    scopes = [TicketScope(agent.pk), TicketScope(agent.pk, department.pk),
              TicketScope(agent.pk, region_ids=[west]),
              TicketScope(agent.pk, department.pk, [east]),
              TicketScope(agent.pk, tech.pk, [east, west])]
    seen = set()
    for scope in scopes:
        selected = set(Ticket.objects.filter(scope.q()).values_list("pk", flat=True))
        admitted = {row[0] for row in Ticket.objects.values_list(*scope.columns())
                    if scope.admits(row)}
        assert selected == admitted, (scope.department_id, scope.region_ids)
        assert 0 < len(selected) < Ticket.objects.count()
        seen.add(frozenset(selected))
    assert len(seen) == len(scopes)  # five scopes, five different sets of tickets
