"""The daily counts behind the status × type × month report stay equal to a live count
through every way a ticket changes: intake, claim (a conditional UPDATE), assignment, hold,
resolve, confirm, close, reopen, a type change, a follow-up ticket, deletion, and a rebuild."""

import datetime

import pytest

from kefu.tickets import services, stats
from kefu.tickets.models import Ticket, TicketStat
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db


def assert_counts_match():
    assert stats.stored_counts() == stats.live_counts()


def test_the_counts_follow_every_service(make_ticket, agent, dispatcher, config):
    a = make_ticket(now="2026-10-30 23:30")          # late evening, October in Shanghai
    b = make_ticket(now="2026-11-02 09:00")
    c = make_ticket(now="2026-11-02 10:00", kind="consult")
    assert_counts_match()
    services.ticket_queue(actor=dispatcher, ticket=b)
    services.ticket_claim(actor=agent, ticket=b)      # a conditional UPDATE, not a save
    assert_counts_match()
    a = services.ticket_assign(actor=dispatcher, ticket=a, owner=agent)
    a = services.ticket_hold(actor=agent, ticket=a, reason="等配件")
    a = services.ticket_resume(actor=agent, ticket=a)
    a = services.ticket_resolve(actor=agent, ticket=a, solution="换件", result="好了")
    assert_counts_match()
    a = services.ticket_confirm(actor=agent, ticket=a, how="电话")
    a = services.ticket_close(actor=agent, ticket=a)
    a = services.ticket_reopen(actor=agent, ticket=a, reason="又坏了")
    assert_counts_match()
    services.ticket_update(actor=dispatcher, ticket=c, version=c.version, ticket_type=config["fault"])
    assert_counts_match()
    a = services.ticket_resolve(actor=agent, ticket=a, solution="再换件", result="好了")
    services.ticket_follow_up(actor=agent, ticket=a, reason="复发")
    assert_counts_match()
    Ticket.objects.get(pk=c.pk).delete()
    assert_counts_match()


def test_the_report_groups_by_intake_month_in_shanghai(make_ticket, config):
    make_ticket(now="2026-10-31 23:30")  # 15:30 UTC: still October here
    make_ticket(now="2026-11-01 00:30")  # 2026-10-31 16:30 UTC: November here
    make_ticket(now="2026-11-03 10:00", kind="consult")
    rows = stats.status_type_month()
    by_month = {}
    for row in rows:
        by_month[row["month"]] = by_month.get(row["month"], 0) + row["count"]
    assert by_month == {datetime.date(2026, 10, 1): 1, datetime.date(2026, 11, 1): 2}
    november = [r for r in rows if r["month"] == datetime.date(2026, 11, 1)]
    assert {(r["ticket_type_id"], r["count"]) for r in november} == {
        (config["fault"].pk, 1), (config["consult"].pk, 1)}


def test_rebuild_recounts_after_writes_that_bypass_the_models(make_ticket, config):
    make_ticket(now="2026-11-02 09:00")
    t = make_ticket(now="2026-11-02 10:00")
    Ticket.objects.filter(pk=t.pk).update(status=Ticket.Status.CLOSED)  # as a bulk load would
    assert stats.stored_counts() != stats.live_counts()
    stats.rebuild()
    assert_counts_match()
    assert TicketStat.objects.filter(count__lt=0).count() == 0


def test_the_report_is_one_query(make_ticket, config, django_assert_num_queries):
    for day in range(1, 6):
        make_ticket(now=f"2026-11-0{day} 10:00")
    with django_assert_num_queries(1):
        rows = stats.status_type_month()
    assert sum(r["count"] for r in rows) == 5


def test_a_claim_that_loses_changes_no_count(make_ticket, agent, dispatcher, config):
    t = make_ticket()
    services.ticket_claim(actor=agent, ticket=t, now=at("2026-11-23 10:05"))
    from kefu.core.errors import Conflict

    with pytest.raises(Conflict):
        services.ticket_claim(actor=dispatcher, ticket=t)
    assert_counts_match()


def test_the_command_checks_and_rebuilds(make_ticket, config, capsys):
    from django.core.management import CommandError, call_command

    t = make_ticket()
    call_command("ticket_stats")
    assert "一致" in capsys.readouterr().out
    Ticket.objects.filter(pk=t.pk).update(status=Ticket.Status.CLOSED)
    with pytest.raises(CommandError, match="--rebuild"):
        call_command("ticket_stats")
    call_command("ticket_stats", "--rebuild")
    call_command("ticket_stats")
    assert_counts_match()
