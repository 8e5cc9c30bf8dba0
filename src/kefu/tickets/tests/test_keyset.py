"""Keyset pages in deadline order (kefu.tickets.keyset): the rows with a deadline after the
cursor by a row comparison, the ones without a deadline by a second query only when the first
runs out before the page is full. Walking every page of a queue with equal, distinct and missing
deadlines gives each ticket once, in ``by_deadline()`` order, on the queue page and on the API."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.customers.tests.test_api_customers import api_client
from kefu.tickets import keyset, views
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

TABLE = Ticket._meta.db_table
ROW_BOUND = re.compile(
    rf'\(\s*"{TABLE}"\."resolve_due_at",\s*"{TABLE}"\."id"\s*\)\s*>\s*\(')
NULL_TAIL = re.compile(rf'"{TABLE}"\."resolve_due_at" IS NULL')


# Deadlines of the tickets in the order they are made (ids ascending): two groups sharing one,
# others of their own, made latest-first so ids do not follow deadlines, and no deadline for
# every third ticket (their ids interleave with the others).
DEADLINES = [
    "2026-11-25 10:00", "2026-11-25 10:00", None, "2026-11-24 15:00", "2026-11-24 15:00", None,
    "2026-11-24 15:00", "2026-11-27 09:00", None, "2026-11-24 11:00", "2026-11-23 10:00", None,
    "2026-11-25 10:00", "2026-11-24 15:00", None,
]


@pytest.fixture
def mixed(make_ticket):
    """15 open tickets in the pool (see DEADLINES)."""
    made = [make_ticket(now="2026-11-23 09:00") for _ in DEADLINES]
    for ticket, due in zip(made, DEADLINES, strict=True):
        Ticket.objects.filter(pk=ticket.pk).update(resolve_due_at=due and at(due))
    assert Ticket.objects.pool().count() == 15
    return made


def expected():
    return list(Ticket.objects.pool().by_deadline().values_list("pk", flat=True))


def walk(limit, qs=None):
    """Every page as the page and the API read them: ask for one more than a page, show a page,
    the last row shown is the next cursor. Returns the pages and each page's SELECTs."""
    qs = Ticket.objects.pool() if qs is None else qs
    pages, selects, cursor = [], [], None
    while True:
        with CaptureQueriesContext(connection) as ctx:
            rows = keyset.page(qs.defer("description", "solution"), cursor, limit + 1)
        selects.append([q["sql"] for q in ctx.captured_queries])
        pages.append([t.pk for t in rows[:limit]])
        if len(rows) <= limit:
            return pages, selects
        last = rows[limit - 1]
        cursor = (last.resolve_due_at, last.pk)


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 6, 10, 14, 15, 16])
def test_every_page_size_walks_every_ticket_once_in_deadline_order(mixed, limit):
    pages, selects = walk(limit)
    assert [pk for page in pages for pk in page] == expected()
    assert all(len(page) == limit for page in pages[:-1])
    # One query a page; two only where the rows with a deadline run out (the page that reads
    # past the last of them, or the one after it when its look-ahead row was the first null).
    assert all(1 <= len(sql) <= 2 for sql in selects)
    assert sum(len(sql) == 2 for sql in selects) <= 2
    assert len(selects[0]) == 1  # page one is a single query, the null tail included


def test_deep_pages_use_a_row_comparison_and_read_the_tail_separately(mixed):
    pages, selects = walk(4)
    deep = [sql for page in selects[1:] for sql in page]
    bounded = [sql for sql in deep if ROW_BOUND.search(sql)]
    tails = [sql for sql in deep if NULL_TAIL.search(sql)]
    assert bounded and tails
    for sql in bounded:  # no OR with the tail: the bound is an index range
        assert not NULL_TAIL.search(sql) and " OR " not in sql.split(" WHERE ", 1)[1], sql
        assert 'ORDER BY "tickets_ticket"."resolve_due_at" ASC, "tickets_ticket"."id" ASC' in sql
    for sql in tails:
        assert not ROW_BOUND.search(sql) and 'ORDER BY "tickets_ticket"."id" ASC' in sql
    assert all('"description"' not in sql for sql in deep)  # the caller's defer() is kept


def test_the_first_page_is_one_query_in_deadline_order(mixed):
    qs = Ticket.objects.pool()
    with CaptureQueriesContext(connection) as ctx:
        rows = keyset.page(qs, None, 6)
    assert [t.pk for t in rows] == expected()[:6]
    assert len(ctx.captured_queries) == 1
    assert [t.pk for t in keyset.page(qs, None, 100)] == expected()  # nulls last, same query


def test_a_cursor_in_the_null_tail_reads_only_the_tail(mixed):
    order = expected()
    nulls = list(Ticket.objects.filter(resolve_due_at__isnull=True).order_by("pk")
                 .values_list("pk", flat=True))
    assert order[-5:] == nulls
    with CaptureQueriesContext(connection) as ctx:
        rows = keyset.page(Ticket.objects.pool(), (None, nulls[1]), 10)
    assert [t.pk for t in rows] == nulls[2:]
    (query,) = ctx.captured_queries
    assert NULL_TAIL.search(query["sql"]) and not ROW_BOUND.search(query["sql"])
    assert keyset.page(Ticket.objects.pool(), (None, nulls[-1]), 10) == []


def test_a_page_ending_exactly_where_the_deadlines_end(mixed):
    order = expected()
    dated = Ticket.objects.pool().filter(resolve_due_at__isnull=False).count()
    assert dated == 10
    # A full page of the last rows with a deadline: the tail is not read.
    before = Ticket.objects.get(pk=order[dated - 6])
    with CaptureQueriesContext(connection) as ctx:
        rows = keyset.page(Ticket.objects.pool(), (before.resolve_due_at, before.pk), 5)
    assert [t.pk for t in rows] == order[dated - 5:dated]
    assert len(ctx.captured_queries) == 1
    # After the last row with a deadline: nothing for the row comparison, all from the tail.
    last = Ticket.objects.get(pk=order[dated - 1])
    with CaptureQueriesContext(connection) as ctx:
        rows = keyset.page(Ticket.objects.pool(), (last.resolve_due_at, last.pk), 5)
    assert [t.pk for t in rows] == order[dated:]
    assert [bool(NULL_TAIL.search(q["sql"])) for q in ctx.captured_queries] == [False, True]
    # One short: the page is the last dated row and the first of the tail.
    with CaptureQueriesContext(connection) as ctx:
        rows = keyset.page(Ticket.objects.pool(), (before.resolve_due_at, before.pk), 7)
    assert [t.pk for t in rows] == order[dated - 5:dated + 2]
    assert len(ctx.captured_queries) == 2
    # The walk whose page boundary falls there: 10 rows with deadlines, pages of 5.
    pages, selects = walk(5)
    assert pages == [order[:5], order[5:10], order[10:]]
    # Page two reads past its 5 rows for the look-ahead (the first null), page three's cursor
    # is the last dated row: the row comparison finds nothing, the tail gives the rest.
    assert [len(sql) for sql in selects] == [1, 2, 2]


def test_an_empty_queue_is_an_empty_page(mixed, agent):
    empty = Ticket.objects.mine(agent)
    assert not empty.exists()
    some = Ticket.objects.pool().first()
    for cursor in (None, (some.resolve_due_at or some.created_at, some.pk), (None, some.pk)):
        assert keyset.page(empty, cursor, 26) == []
    assert keyset.page(Ticket.objects.none(), (some.created_at, some.pk), 26) == []


def test_other_filters_are_kept(mixed, config):
    Ticket.objects.filter(pk__in=[t.pk for t in mixed[::2]]).update(priority=config["urgent"])
    urgent = Ticket.objects.pool().filter(priority__code="urgent")
    pages, _ = walk(2, urgent)
    assert [pk for page in pages for pk in page] == list(
        urgent.by_deadline().values_list("pk", flat=True))
    assert len(pages) == 4


@pytest.mark.parametrize("page_size", [3, 5])
def test_the_queue_page_walks_every_ticket_once(mixed, agent, monkeypatch, page_size):
    monkeypatch.setattr(views, "PAGE_SIZE", page_size)
    client = Client()
    client.force_login(agent)
    seen, query = [], "q=pool"
    while query is not None:
        response = client.get(f"/tickets/?{query}")
        assert response.status_code == 200
        seen += [t.pk for t in response.context["tickets"]]
        query = response.context["next_query"]
    assert seen == expected()


def test_the_api_list_walks_every_ticket_once(mixed, agent):
    client = api_client(agent)
    for limit in (1, 4, 5, 15):
        seen, cursor = [], None
        while True:
            body = client.get("/api/v1/tickets", {
                "queue": "pool", "limit": limit, **({"cursor": cursor} if cursor else {})}).json()
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == expected(), limit
