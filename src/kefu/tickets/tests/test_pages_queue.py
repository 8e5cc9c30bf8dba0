"""The queue page: each tab lists its tickets in deadline order, the SLA column's colours,
keyset pages, filters and a query budget that does not grow with the page."""

import pytest
import time_machine
from django.test import Client

from kefu.tickets import services
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

URL = "/tickets/"
NOW = at("2026-11-24 12:00")
# Session, the user with their staff profile (permissions and regions from the per-process
# cache), the page's rows, their customers, the saved filters. Tab counts come in a request of
# their own; filter choices and owners from the configuration cache.
QUEUE_QUERY_BUDGET = 5


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def listed(response):
    return [t.pk for t in response.context["tickets"]]


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize(("queue", "expected"), [
    ("mine", ["held", "overdue", "soon"]),
    ("pool", ["pool"]),
    ("due_soon", ["soon"]),
    ("overdue", ["overdue"]),
    ("on_hold", ["held"]),
    ("awaiting", ["resolved"]),
])
def test_each_queue_lists_exactly_its_tickets(desk, agent, clock, queue, expected):
    response = logged_in(agent).get(URL, {"q": queue})
    assert response.status_code == 200
    assert listed(response) == [desk[name].pk for name in expected]


def test_it_opens_on_my_tickets_and_fetches_a_count_for_every_tab(desk, agent, clock):
    client = logged_in(agent)
    response = client.get(URL)
    assert response.context["queue"] == "mine"
    html = response.content.decode()
    assert 'id="queue-table"' in html
    assert 'hx-get="/tickets/counts/"' in html  # the tabs fetch their numbers after the rows
    assert 'id="count-overdue"' in html
    counted = client.get("/tickets/counts/")
    counts = {c["name"]: c["count"] for c in counted.context["counts"]}
    assert counts == {"mine": 3, "pool": 1, "due_soon": 1, "overdue": 1, "on_hold": 1, "awaiting": 1,
                      "major": 0}
    badges = counted.content.decode()
    # swapped into the tabs out of band; a non-empty overdue tab is red
    assert badges.count('hx-swap-oob="true"') == 7
    overdue = badges.split('id="count-overdue"')[0].rsplit("<span", 1)[1]
    assert "text-bg-danger" in overdue


def test_the_seven_tab_counts_are_one_statement(make_ticket, engineer, west_customer, agent, config,
                                               clock, django_assert_num_queries):
    """count_each: the same numbers as counting each queue, in one statement; a queryset that
    can match nothing counts 0 without a statement of its own."""
    from django.utils import timezone

    from kefu.tickets.queries import count_each
    from kefu.tickets.views import QUEUES, _queue

    make_ticket()
    make_ticket(now="2026-11-20 10:00", priority="urgent")
    services.ticket_create(actor=agent, customer=west_customer, channel=config["phone"],
                           ticket_type=config["fault"], priority=config["normal"], subject="投影仪",
                           now=at("2026-11-24 10:00"))
    for user in (agent, engineer):
        base = Ticket.objects.visible_to(user)
        queues = [_queue(key, base, user, timezone.now()) for key in QUEUES]
        expected = [q.count() for q in queues]
        with django_assert_num_queries(1):
            assert count_each(queues) == expected
    assert sum(expected) > 0
    total = Ticket.objects.count()
    with django_assert_num_queries(1):
        assert count_each([Ticket.objects.none(), Ticket.objects.all(), Ticket.objects.none()]) == [0, total, 0]
    with django_assert_num_queries(0):
        assert count_each([Ticket.objects.none()]) == [0]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert logged_in(agent).get("/tickets/counts/").status_code == 200
    assert sum("COUNT(" in q["sql"] for q in captured.captured_queries) == 1


def test_the_counts_follow_the_scope_and_need_the_permission(make_ticket, engineer, west_customer,
                                                           agent, config, nobody, clock):
    make_ticket()
    services.ticket_create(actor=agent, customer=west_customer, channel=config["phone"],
                           ticket_type=config["fault"], priority=config["normal"], subject="投影仪",
                           now=at("2026-11-24 10:00"))
    counts = {c["name"]: c["count"] for c in logged_in(engineer).get("/tickets/counts/").context["counts"]}
    assert counts["pool"] == 1  # the west customer's ticket is outside the engineer's region
    assert {c["name"]: c["count"] for c in logged_in(agent).get("/tickets/counts/").context["counts"]}["pool"] == 2
    assert logged_in(nobody).get("/tickets/counts/").status_code == 403


def test_an_unknown_queue_shows_my_tickets(desk, agent, clock):
    assert logged_in(agent).get(URL, {"q": "everything"}).context["queue"] == "mine"


def test_the_sla_column_is_red_amber_or_green(desk, agent, dispatcher, clock):
    response = logged_in(agent).get(URL, {"q": "mine"})
    html = response.content.decode()
    rows = {t.pk: t for t in response.context["tickets"]}
    assert rows[desk["overdue"].pk].sla_css == "sla-red"
    assert rows[desk["overdue"].pk].sla_label == "已超时 26 小时"
    assert rows[desk["soon"].pk].sla_css == "sla-amber"
    overdue_row = html.split(f'data-ticket="{desk["overdue"].pk}"')[1].split("</tr>")[0]
    assert "sla-red" in overdue_row and "已超时" in overdue_row
    pool = logged_in(dispatcher).get(URL, {"q": "pool"}).context["tickets"]
    assert [t.sla_css for t in pool] == ["sla-green"]


def test_it_pages_by_deadline_without_gaps(make_ticket, agent, clock):
    for i in range(30):
        make_ticket(now=f"2026-11-24 {9 + i // 10:02d}:{(i % 10) * 5:02d}")
    client = logged_in(agent)
    first = client.get(URL, {"q": "pool"})
    assert len(first.context["tickets"]) == 25
    second = client.get(f"{URL}?{first.context['next_query']}")
    assert len(second.context["tickets"]) == 5
    assert second.context["next_query"] is None
    everything = list(Ticket.objects.pool().by_deadline().values_list("pk", flat=True))
    assert listed(first) + listed(second) == everything


@pytest.mark.parametrize("cursor", [
    {"after_due": "gestern", "after_id": "7"},
    {"after_due": "2026-13-45T99:00:00", "after_id": "7"},
    {"after_due": "2026-11-24T10:00:00+08:00", "after_id": "x"},
    {"after_id": "-1"},
])
def test_a_garbled_cursor_shows_the_first_page(desk, agent, clock, cursor):
    response = logged_in(agent).get(URL, {"q": "mine", **cursor})
    assert response.status_code == 200
    assert len(response.context["tickets"]) == 3


def test_it_filters_by_type_priority_and_status(make_ticket, agent, config, clock):
    urgent = make_ticket(priority="urgent")
    consult = make_ticket(kind="consult")
    queued = services.ticket_queue(actor=agent, ticket=make_ticket())
    client = logged_in(agent)
    assert listed(client.get(URL, {"q": "pool", "priority": config["urgent"].pk})) == [urgent.pk]
    assert listed(client.get(URL, {"q": "pool", "ticket_type": config["consult"].pk})) == [consult.pk]
    assert listed(client.get(URL, {"q": "pool", "status": "unassigned"})) == [queued.pk]


def test_an_unreadable_filter_lists_nothing(desk, agent, clock):
    response = logged_in(agent).get(URL, {"q": "pool", "priority": "999999"})
    assert response.status_code == 200
    assert listed(response) == []
    assert 'id="filter-errors"' in response.content.decode()


def test_an_engineer_sees_only_the_tickets_of_their_region(make_ticket, agent, engineer,
                                                           west_customer, config, clock):
    east = make_ticket()
    services.ticket_create(actor=agent, customer=west_customer, channel=config["phone"],
                           ticket_type=config["fault"], priority=config["normal"], subject="投影仪",
                           now=at("2026-11-24 10:00"))
    assert listed(logged_in(engineer).get(URL, {"q": "pool"})) == [east.pk]


def test_regions_changed_change_the_scope_at_once(engineer, make_ticket, west_customer, agent, config,
                                                  regions, clock):
    make_ticket()
    west = services.ticket_create(actor=agent, customer=west_customer, channel=config["phone"],
                                  ticket_type=config["fault"], priority=config["normal"], subject="投影仪")
    """The regions are cached with the permissions (kefu.accounts.backends): a change to them
    must reach the next page."""
    client = logged_in(engineer)
    assert west.pk not in [t.pk for t in client.get(URL, {"q": "pool"}).context["tickets"]]
    engineer.staff.regions.add(regions["west"])
    assert west.pk in [t.pk for t in client.get(URL, {"q": "pool"}).context["tickets"]]
    engineer.staff.regions.remove(regions["west"])
    assert west.pk not in [t.pk for t in client.get(URL, {"q": "pool"}).context["tickets"]]


def test_nobody_gets_403(nobody):
    assert logged_in(nobody).get(URL).status_code == 403


def test_the_queue_has_a_query_budget(make_ticket, agent, dispatcher, django_assert_max_num_queries,
                                      clock):
    client = logged_in(agent)
    counts = []
    for count in (5, 30):
        Ticket.objects.all().delete()
        for i in range(count):
            ticket = make_ticket(now=f"2026-11-24 {9 + i // 10:02d}:{(i % 10) * 5:02d}")
            services.ticket_assign(actor=dispatcher, ticket=ticket, owner=agent)
        client.get(URL, {"q": "mine"})  # the per-process configuration cache, as in steady state
        with django_assert_max_num_queries(QUEUE_QUERY_BUDGET) as captured:
            response = client.get(URL, {"q": "mine"})
        assert len(response.context["tickets"]) == min(count, 25)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_the_rows_are_escaped_and_carry_their_cells(make_ticket, agent, dispatcher, clock):
    """Each row: text escaped, the bulk checkbox for those who may assign, the major badge for
    major tickets, the cells the view works out (link, status label, customer's masked name)."""
    ticket = make_ticket(now="2026-11-24 09:00")
    Ticket.objects.filter(pk=ticket.pk).update(subject='<script>alert("x")</script>', is_major=True)
    html = logged_in(dispatcher).get(URL, {"q": "pool"}).content.decode()
    row = html.split(f'data-ticket="{ticket.pk}"')[1].split("</tr>")[0]
    assert "<script>" not in row and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in row
    assert f'href="/tickets/{ticket.pk}/"' in row and ticket.number in row
    assert 'class="form-check-input bulk-pick"' in row and "重大" in row
    assert "张*明" in row and "<td>新建</td>" in row
    agent_row = logged_in(agent).get(URL, {"q": "pool"}).content.decode()
    assert "bulk-pick" not in agent_row  # an agent may not assign
