"""Planner statistics (kefu.core.dbstats): without them SQLite reads every ticket of an agent's
scope and sorts it to show 26; with them it walks the deadline index."""

from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection

from kefu.core import dbstats
from kefu.demo import bulk
from kefu.demo.tickets import DEMO_NOW
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated(working_calendar):
    """3,000 generated tickets, and the API's ticket list of a generated agent of a department."""
    from django.contrib.auth import get_user_model

    import_module("kefu.tickets.migrations.0002_default_configuration").load(apps, None)
    bulk.generate(tickets=3000, customers=400, years=1, seed=11, now=DEMO_NOW, batch=1000,
                  analyze=False, workers=0)
    agent = (get_user_model().objects.filter(groups__name="agent", staff__department__isnull=False,
                                             staff__regions__isnull=True).order_by("pk").first())
    return Ticket.objects.visible_to(agent).by_deadline()[:26]


def sqlite_plan(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " / ".join(row[-1] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_sqlite_walks_the_deadline_index_once_it_has_statistics(generated):
    before = sqlite_plan(generated)
    assert "TEMP B-TREE FOR ORDER BY" in before, before  # blind: read the scope, then sort
    dbstats.refresh()
    after = sqlite_plan(generated)
    assert "ticket_resolve_due" in after and "TEMP B-TREE" not in after, after


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statistics")
def test_postgresql_tables_are_analyzed(generated):
    table = Ticket._meta.db_table
    count = Ticket.objects.count()
    dbstats.refresh([table])
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        estimate = cursor.fetchone()[0]
    # The planner's row count is the table's (before: -1 when never analyzed, or whatever an
    # earlier ANALYZE in this database saw: pg_class is updated outside transactions).
    assert abs(estimate - count) <= count * 0.05, (estimate, count)


def test_the_nightly_job_refreshes_them(monkeypatch):
    from kefu.core import tasks

    called = []
    monkeypatch.setattr(dbstats, "refresh", lambda tables=None: called.append(tables))
    assert tasks.refresh_planner_statistics.call_local() == {"ok": True}
    assert called == [None]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
@pytest.mark.parametrize("queue", ["overdue", "due_soon"])
def test_sqlite_reads_the_open_tickets_partial_index_for_the_deadline_queues(generated, queue):
    """SQLite uses a partial index only when the query repeats its WHERE term with literals
    (kefu.tickets.models.OpenIndexTerm); otherwise these queues walk every ticket's deadline."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from kefu.tickets import views

    dbstats.refresh()
    user = get_user_model().objects.filter(groups__name="dispatcher").order_by("pk").first()
    queryset = views._queue(queue, Ticket.objects.visible_to(user), user, timezone.now())
    plan = sqlite_plan(queryset.by_deadline()[:26])
    assert "ticket_open_resolve_due" in plan, plan


def test_the_open_index_term_names_the_open_statuses():
    from kefu.tickets.models import OPEN_INDEX_STATUSES

    assert set(OPEN_INDEX_STATUSES) == set(Ticket.OPEN_STATUSES)
    index = next(i for i in Ticket._meta.indexes if i.name == "ticket_open_resolve_due")
    assert index.condition.children == [("status__in", list(OPEN_INDEX_STATUSES))]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_sqlite_monitor_pass_reads_only_its_partial_indexes(generated):
    """The SLA monitor's four reads each go to their small partial index (at a million tickets,
    the unanswered one used to hold every closed ticket never answered: 174 ms a pass)."""
    from kefu.tickets.monitor import sla_monitor_pass

    dbstats.refresh()
    sla_monitor_pass(now=DEMO_NOW)
    reads = []  # as sent: SQL with its bound parameters (the logged text has them inlined)

    def record(execute, sql, params, many, context):
        if sql.startswith("SELECT"):
            reads.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        sla_monitor_pass(now=DEMO_NOW)
    plans = []
    with connection.cursor() as cursor:
        for sql, params in reads:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plans.append(" / ".join(row[-1] for row in cursor.fetchall()))
    expected = ["ticket_breach_pending", "ticket_warn_pending", "ticket_unanswered_due",
                "ticket_handoff_pending"]
    assert len(plans) == 4, plans
    for index, plan in zip(expected, plans, strict=True):
        assert index in plan, (index, plan)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
@pytest.mark.parametrize(("queue", "index"), [
    ("mine", "ticket_mine_due"), ("pool", "ticket_pool_due"), ("on_hold", "ticket_on_hold_due"),
    ("major", "ticket_major_due"),
])
def test_sqlite_reads_mine_pool_on_hold_and_major_from_their_own_index(generated, queue, index):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from kefu.tickets import views

    # A few major problems, as a real desk has (an empty index has no statistics at all).
    major = Ticket.objects.open().order_by("pk").values_list("pk", flat=True)[:5]
    Ticket.objects.filter(pk__in=list(major)).update(is_major=True)
    dbstats.refresh()
    user = (get_user_model().objects.filter(groups__name="agent", owned_tickets__isnull=False)
            .order_by("pk").first())
    queryset = views._queue(queue, Ticket.objects.visible_to(user), user, timezone.now())
    plan = sqlite_plan(queryset.by_deadline()[:26])
    assert index in plan, plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_sqlite_reads_the_weekly_review_by_index(generated):
    """周复盘's week of intake and of resolutions, and its reopens and chases: SQLite searches
    the time indexes instead of scanning the tables (10 s for the page at one million tickets)."""
    from kefu.tickets import review
    from kefu.tickets.models import TicketEvent

    dbstats.refresh()
    week = review.Week.containing(DEMO_NOW)
    intake = Ticket.objects.filter(created_at__gte=week.start, created_at__lt=week.end)
    resolved = Ticket.objects.filter(resolved_at__gte=week.start, resolved_at__lt=week.end)
    events = TicketEvent.objects.filter(at__gte=week.start, at__lt=week.end, verb__in=("reopened", "chased"))
    for queryset, index in ((intake, "ticket_created"), (resolved, "ticket_resolved"),
                            (events, "ticket_event_verb_at")):
        plan = sqlite_plan(queryset.values("pk"))
        assert f"USING COVERING INDEX {index}" in plan or f"USING INDEX {index}" in plan, plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_sqlite_picks_the_review_s_open_complaints_from_the_open_tickets(generated):
    """周复盘's open complaints, oldest first: SQLite walked the intake-time index from the first
    ticket ever (150–210 ms at one million tickets); it must read an open-ticket index."""
    from django.test.utils import CaptureQueriesContext

    from kefu.tickets import review

    dbstats.refresh()
    with CaptureQueriesContext(connection) as queries:
        review._open_complaints(review.Week.containing(DEMO_NOW))
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "ticket_created" not in plan, plan
    assert any(f"INDEX {index}" in plan for index in ("ticket_open_resolve_due", "ticket_mine_due")), plan
