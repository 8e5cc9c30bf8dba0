import datetime

import pytest

from kefu.tickets import keyset
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db
NOW = at("2026-11-24 12:00")


def pks(qs):
    return list(qs.by_deadline().values_list("pk", flat=True))


def test_each_queue_holds_what_its_name_says(desk, agent):
    t = Ticket.objects
    assert pks(t.pool()) == [desk["pool"].pk]
    assert pks(t.mine(agent)) == [desk["held"].pk, desk["overdue"].pk, desk["soon"].pk]
    assert pks(t.overdue(NOW)) == [desk["overdue"].pk]  # the held one's clock is stopped
    assert pks(t.due_soon(NOW, datetime.timedelta(hours=4))) == [desk["soon"].pk]
    assert pks(t.on_hold()) == [desk["held"].pk]
    assert pks(t.awaiting_confirmation()) == [desk["resolved"].pk]


def test_keyset_pages_walk_the_deadline_order_without_gaps(make_ticket):
    for minute in range(0, 50, 5):
        make_ticket(now=f"2026-11-24 10:{minute:02d}")
        make_ticket(now=f"2026-11-24 10:{minute:02d}")  # equal deadlines: the id breaks ties
    everything = pks(Ticket.objects.open())
    seen, page = [], list(Ticket.objects.open().by_deadline()[:3])
    while page:
        seen += [t.pk for t in page]
        last = page[-1]
        page = keyset.page(Ticket.objects.open(), (last.resolve_due_at, last.pk), 3)
    assert seen == everything and len(seen) == 20


@pytest.mark.django_db
def test_the_queue_deadline_indexes_hold_the_filter_columns():
    """Each queue's deadline index carries the columns queues are filtered and scoped by, in
    the database (SQLite checks a filter in the index before reading the row only when the
    index holds the column; PostgreSQL the same as index conditions)."""
    from django.db import connection

    from kefu.tickets.models import QUEUE_FILTER_COLUMNS

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Ticket._meta.db_table)
    wanted = {Ticket._meta.get_field(name).column for name in QUEUE_FILTER_COLUMNS}
    for name in ("ticket_open_resolve_due", "ticket_pool_due", "ticket_on_hold_due",
                 "ticket_major_due", "ticket_awaiting_due", "ticket_mine_due"):
        columns = constraints[name]["columns"]
        assert columns[columns.index("resolve_due_at"):][:2] == ["resolve_due_at", "id"], name
        # "Mine" leads with the owner, who is the user: the taker-in adds nothing there.
        expected = wanted - {"created_by_id"} if name == "ticket_mine_due" else wanted
        assert expected <= set(columns), name


def test_mine_is_the_owned_part_of_what_the_user_sees(make_ticket, agent, dispatcher, engineer,
                                                       other_region_engineer, supervisor, west_customer):
    """我的工单 is read without the scope's OR (a ticket someone owns is in their scope): the
    same tickets as the scoped queue, for staff limited by department, by region, or not at all,
    including ones owned in another department or for another region's customer."""
    from django.contrib.auth import get_user_model

    from kefu.accounts.models import Department
    from kefu.tickets import views

    elsewhere = Department.objects.create(code="far", name="外地服务部")
    stranger = get_user_model().objects.create_user("nostaff", password="x")
    stranger.user_permissions.add(*agent.groups.first().permissions.filter(codename="view_ticket"))
    people = [agent, dispatcher, engineer, other_region_engineer, supervisor, stranger]
    for i, owner in enumerate(people * 2):
        ticket = make_ticket(now=f"2026-11-24 0{i % 10}:00")
        extra = {"customer": west_customer} if i % 3 == 0 else {}
        Ticket.objects.filter(pk=ticket.pk).update(
            owner=owner, status=Ticket.Status.IN_PROGRESS, department=elsewhere if i % 2 else None, **extra)
    for user in people:
        user = get_user_model().objects.get(pk=user.pk)  # fresh permission caches
        mine = views._queue("mine", Ticket.objects.visible_to(user), user, NOW)
        scoped = Ticket.objects.visible_to(user).mine(user)
        assert pks(mine) == pks(scoped) and len(pks(mine)) == 2, user.username
        assert "department_id" not in str(mine.query).split(" WHERE ")[1], user.username


@pytest.mark.django_db
def test_the_tickets_table_indexes_its_keys_only_where_something_reads_them():
    """No single-column index on keys nothing looks tickets up by (each one is written on every
    intake); the customer's and the owner's tickets are reached through composite indexes that
    begin with them, and the weekly review's weeks through the two time indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Ticket._meta.db_table)
    indexed_alone = {c["columns"][0] for c in constraints.values()
                     if c["index"] and not c["unique"] and len(c["columns"]) == 1}
    unindexed = {Ticket._meta.get_field(name).column for name in (
        "customer", "owner", "channel", "ticket_type", "priority", "service_mode", "sla_policy",
        "handoff_to")}
    assert not unindexed & indexed_alone, unindexed & indexed_alone
    assert constraints["ticket_customer_history"]["columns"][0] == "customer_id"
    assert constraints["ticket_owner_queue"]["columns"][0] == "owner_id"
    assert constraints["ticket_created"]["columns"] == ["created_at", "id"]
    assert constraints["ticket_resolved"]["columns"] == ["resolved_at"]
    assert {"department_id", "created_by_id"} <= indexed_alone  # the scope's ORs read these
