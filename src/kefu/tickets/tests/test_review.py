"""周复盘 (B14): the week's figures with week boundaries in Asia/Shanghai, the comparison with
the week before, open complaints and suggestions, reopens, chases and SLA results, who may see
it, a bad week, the Excel export and a query budget that does not grow with the tickets."""

import io

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.core.models import AccessLog
from kefu.tickets import services
from kefu.tickets.models import Ticket, TicketType
from kefu.tickets.review import REVIEW_QUERIES, Week, parse_week, weekly_review
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

URL = "/tickets/review/"
EXPORT_URL = "/tickets/review/export/"
W48 = Week(2026, 48)  # Monday 2026-11-23 to Sunday 2026-11-29
NOW = at("2026-11-27 12:00")  # a Friday in W48
# Session, user, the user's and the groups' permissions, the user's staff profile (the menu),
# and the seven sections of the review.
PAGE_QUERY_BUDGET = 5 + REVIEW_QUERIES


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def make(agent, customer, config):
    types = {t.code: t for t in TicketType.objects.all()}

    def make(now, kind="fault", subject="打印机卡纸", priority="normal", who=None, **extra):
        return services.ticket_create(
            actor=agent, customer=who or customer, channel=config["phone"], ticket_type=types[kind],
            priority=config[priority], subject=subject, now=at(now), **extra,
        )

    return make


def close(ticket, actor, dispatcher, resolved="2026-11-24 11:00"):
    ticket = services.ticket_assign(actor=dispatcher, ticket=ticket, owner=actor)
    ticket = services.ticket_resolve(actor=actor, ticket=ticket, solution="已处理", result="已解决",
                                     now=at(resolved))
    ticket = services.ticket_confirm(actor=actor, ticket=ticket, how="电话回访", now=at(resolved))
    return services.ticket_close(actor=actor, ticket=ticket, now=at(resolved))


def by_type(review):
    return {r.code: (r.count, r.previous) for r in review.by_type}


# ---------------------------------------------------------------------------------------------
# Weeks


def test_weeks_parse_and_step_across_years():
    assert Week.parse("2026-W48") == W48
    assert Week.parse("2026w48") == W48
    assert str(Week.parse("2026-W05")) == "2026-W05"
    assert Week(2027, 1).previous() == Week(2026, 53)  # 2026 has 53 ISO weeks
    assert Week(2026, 53).next() == Week(2027, 1)
    assert W48.previous() == Week(2026, 47) and W48.next() == Week(2026, 49)
    for bad in ("2026-W54", "2025-W53", "2026-W00", "2026-48", "W48", "abc", "2026-W4８x"):
        with pytest.raises(ValueError):
            Week.parse(bad)


def test_a_week_runs_from_monday_midnight_shanghai():
    assert W48.start == at("2026-11-23 00:00") and W48.end == at("2026-11-30 00:00")
    assert W48.start.utcoffset().total_seconds() == 8 * 3600


def test_the_current_week_is_the_local_one():
    # Sunday 17:00 UTC is already Monday 01:00 in Shanghai: the next ISO week.
    assert Week.current(at("2026-11-30 01:00")) == Week(2026, 49)
    assert Week.current(at("2026-11-29 23:59")) == W48
    assert parse_week("", at("2026-11-27 12:00")) == (W48, None)
    week, error = parse_week("2026-W99", at("2026-11-27 12:00"))
    assert week == W48 and "2026-W99" in error


# ---------------------------------------------------------------------------------------------
# Figures


def test_counts_by_type_follow_the_shanghai_week(make):
    make("2026-11-23 07:00")                    # Monday 07:00 local is Sunday 23:00 UTC: in
    make("2026-11-29 23:59")                    # last minute of Sunday: in
    make("2026-11-25 10:00", kind="consult")    # in
    make("2026-11-30 00:30")                    # Monday of W49 local (still Sunday in UTC): out
    make("2026-11-22 23:59")                    # last minute of W47: the previous week
    review = weekly_review(W48, NOW)
    assert by_type(review) == {"fault": (2, 1), "consult": (1, 0)}
    assert (review.total, review.previous_total) == (3, 1)
    assert [r.code for r in review.by_type] == ["fault", "consult"]  # most first
    fault = review.by_type[0]
    assert fault.share == 66.7 and fault.change == 1
    assert by_type(weekly_review(Week(2026, 49), NOW)) == {"fault": (1, 2), "consult": (0, 1)}


def test_a_type_only_seen_the_week_before_shows_its_drop(make):
    make("2026-11-17 10:00", kind="consult")
    make("2026-11-18 10:00", kind="consult")
    make("2026-11-24 10:00")
    review = weekly_review(W48, NOW)
    rows = {r.code: r for r in review.by_type}
    assert (rows["consult"].count, rows["consult"].previous, rows["consult"].change) == (0, 2, -2)
    assert rows["consult"].share == 0.0 and rows["fault"].share == 100.0


def test_frequent_problems_by_subject_and_product(make, customer, west_customer):
    asset = customer.assets.get()
    for day in ("23", "24", "25"):
        make(f"2026-11-{day} 10:00", asset=asset)
    make("2026-11-24 11:00", subject="无法开机", who=west_customer)
    make("2026-11-24 12:00", subject="无法开机")
    make("2026-11-16 12:00", subject="无法开机")  # previous week: not counted
    review = weekly_review(W48, NOW)
    assert [(r["subject"], r["count"], r["customers"]) for r in review.top_subjects] == [
        ("打印机卡纸", 3, 1), ("无法开机", 2, 2)]
    assert [(r["product"], r["count"]) for r in review.by_product] == [
        ("EPSON L3150", 3), (None, 2)]


def test_open_complaints_oldest_first_and_closed_ones_left_out(make, agent, dispatcher):
    newer = make("2026-11-25 09:00", kind="complaint", subject="工程师迟到")
    older = make("2026-11-18 09:00", kind="complaint", subject="态度不好")
    services.ticket_assign(actor=dispatcher, ticket=older, owner=agent)
    close(make("2026-11-23 09:00", kind="complaint", subject="已处理的投诉"), agent, dispatcher)
    make("2026-11-30 09:00", kind="complaint", subject="下周的投诉")  # after the week: not yet
    make("2026-11-24 09:00", subject="不是投诉")
    review = weekly_review(W48, NOW)
    assert [t.pk for t in review.open_complaints] == [older.pk, newer.pk]
    assert review.complaints_received == 2  # taken in during W48: newer and the closed one

    with time_machine.travel(NOW, tick=False):
        page = logged_in(dispatcher).get(URL, {"week": "2026-W48"})
    html = page.content.decode()
    rows = page.context["review"].open_complaints
    assert rows[0].owner_name == "王丽" and rows[1].owner_name == ""
    assert rows[0].age_label == "9 天 3 小时"
    assert rows[0].sla_css == "sla-red"
    complaints = html[html.index('id="review-complaints"'):html.index('id="review-suggestions"')]
    assert older.number in complaints and newer.number in complaints
    assert "已处理的投诉" not in complaints and "下周的投诉" not in complaints
    assert complaints.index(older.number) < complaints.index(newer.number)
    assert "张*明" in html  # the customer's name as staff see it (masked)


def test_suggestions_received_in_the_week(make, agent):
    s = make("2026-11-26 15:00", kind="suggestion", subject="希望增加微信报修")
    make("2026-11-20 15:00", kind="suggestion", subject="上周的建议")
    review = weekly_review(W48, NOW)
    assert [t.pk for t in review.suggestions] == [s.pk]
    assert review.suggestions_received == 1


def test_reopens_and_chases_counted_by_when_they_happened(make, agent, dispatcher):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make("2026-11-16 10:00"), owner=agent)
    services.ticket_chase(actor=agent, ticket=ticket, now=at("2026-11-20 10:00"))  # W47
    services.ticket_chase(actor=agent, ticket=ticket, now=at("2026-11-23 10:00"))
    services.ticket_chase(actor=agent, ticket=ticket, now=at("2026-11-24 10:00"))
    ticket = services.ticket_resolve(actor=agent, ticket=ticket, solution="换纸", result="好了",
                                     now=at("2026-11-24 11:00"))
    services.ticket_reopen(actor=agent, ticket=ticket, reason="又卡纸", now=at("2026-11-25 10:00"))
    review = weekly_review(W48, NOW)
    assert review.activity == {
        "reopened": 1, "reopened_tickets": 1, "reopened_previous": 0,
        "chased": 2, "chased_tickets": 1, "chased_previous": 1,
    }


def test_sla_met_and_breached_for_tickets_resolved_in_the_week(make, agent, dispatcher):
    def resolve(created, resolved):
        ticket = services.ticket_assign(actor=dispatcher, ticket=make(created), owner=agent)
        return services.ticket_resolve(actor=agent, ticket=ticket, solution="s", result="r",
                                       now=at(resolved))

    met = resolve("2026-11-23 10:00", "2026-11-23 15:00")       # due Tue 10:00: in time
    late = resolve("2026-11-23 10:00", "2026-11-26 15:00")      # three days later: breached
    flagged = resolve("2026-11-24 10:00", "2026-11-24 12:00")
    Ticket.objects.filter(pk=flagged.pk).update(sla_breached_at=at("2026-11-24 11:00"))
    resolve("2026-11-16 10:00", "2026-11-20 10:00")             # resolved in W47, late
    resolve("2026-11-27 09:00", "2026-11-30 09:00")             # resolved in W49
    Ticket.objects.filter(pk=met.pk).update(resolve_due_at=at("2026-11-24 10:00"))
    sla = weekly_review(W48, NOW).sla
    assert (sla["resolved"], sla["met"], sla["breached"], sla["no_deadline"]) == (3, 1, 2, 0)
    assert sla["met_rate"] == 33.3
    assert (sla["resolved_previous"], sla["met_previous"], sla["breached_previous"]) == (1, 0, 1)
    assert late.resolved_at > late.resolve_due_at


# ---------------------------------------------------------------------------------------------
# The page


@pytest.mark.parametrize("who", ["supervisor", "manager", "dispatcher"])
def test_leads_see_the_review(request, who, clock, make):
    make("2026-11-24 10:00")
    response = logged_in(request.getfixturevalue(who)).get(URL)
    assert response.status_code == 200
    assert response.context["week"] == W48
    html = response.content.decode()
    assert 'id="review-by-type"' in html and 'id="review-complaints"' in html
    assert 'href="?week=2026-W47"' in html
    assert 'id="next-week"' not in html  # no future weeks


@pytest.mark.parametrize("who", ["agent", "engineer", "nobody"])
def test_agents_and_engineers_get_403(request, who, clock):
    client = logged_in(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403


def test_anonymous_users_are_sent_to_log_in(db):
    assert Client().get(URL).status_code == 302


def test_a_past_week_links_to_the_next_and_to_this_week(supervisor, clock):
    response = logged_in(supervisor).get(URL, {"week": "2026-W46"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="?week=2026-W47"' in html and 'href="?week=2026-W48"' in html
    assert 'href="?week=2026-W45"' in html


@pytest.mark.parametrize("value", ["2026-W60", "next week", "2026-13-01"])
def test_a_bad_week_shows_an_error_and_the_current_week(supervisor, clock, make, value):
    make("2026-11-24 10:00")
    response = logged_in(supervisor).get(URL, {"week": value})
    assert response.status_code == 400
    assert response.context["week"] == W48
    assert response.context["review"].total == 1
    html = response.content.decode()
    assert 'id="review-error"' in html and "YYYY-Www" in html


def test_the_page_has_a_query_budget_that_does_not_grow(supervisor, clock, make, agent, dispatcher,
                                                         django_assert_max_num_queries):
    client = logged_in(supervisor)

    def page_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    def add(n):
        for i in range(n):
            make(f"2026-11-2{3 + i % 4} 10:00", kind=("complaint", "suggestion", "fault")[i % 3],
                 subject=f"问题{i % 5}")

    client.get(URL)  # steady state: permissions and configuration kept per process
    add(3)
    few = page_queries()
    add(12)
    assert page_queries() == few
    with django_assert_max_num_queries(PAGE_QUERY_BUDGET):
        client.get(URL)


def test_the_review_itself_is_a_fixed_number_of_queries(make, django_assert_num_queries):
    for i in range(6):
        make(f"2026-11-2{3 + i % 4} 10:00", kind=("complaint", "suggestion")[i % 2])
    with django_assert_num_queries(REVIEW_QUERIES):
        weekly_review(W48, NOW)


# ---------------------------------------------------------------------------------------------
# Export


def sheets_of(data):
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook}


def test_the_export_holds_every_section(supervisor, clock, make, agent, dispatcher):
    complaint = make("2026-11-25 09:00", kind="complaint", subject="=HYPERLINK(\"x\")")
    suggestion = make("2026-11-26 15:00", kind="suggestion", subject="希望增加微信报修")
    make("2026-11-24 10:00")
    make("2026-11-17 10:00")
    response = logged_in(supervisor).get(EXPORT_URL, {"week": "2026-W48"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="kefu-review-2026-W48.xlsx"' in response["Content-Disposition"]
    sheets = sheets_of(response.content)
    assert list(sheets) == ["概览", "按类型", "高频问题", "产品型号", "未结投诉", "建议"]
    assert ("受理工单", 3, 1) in sheets["概览"]
    assert sheets["按类型"][0] == ("工单类型", "本周", "占比 %", "上周", "变化")
    assert {row[0]: row[1:] for row in sheets["按类型"][1:]}["故障报修"] == (1, 33.3, 1, 0)
    complaints = sheets["未结投诉"][1:]
    assert [row[0] for row in complaints] == [complaint.number]
    assert complaints[0][1] == "张*明"
    assert complaints[0][2] == "'=HYPERLINK(\"x\")"  # formula defused
    assert complaints[0][5].strftime("%Y-%m-%d %H:%M") == "2026-11-25 09:00"  # local time
    assert [row[0] for row in sheets["建议"][1:]] == [suggestion.number]
    assert len(sheets["高频问题"]) == 4


def test_every_export_is_access_logged(supervisor, clock, make):
    make("2026-11-25 09:00", kind="complaint")
    logged_in(supervisor).get(EXPORT_URL)
    log = AccessLog.objects.get()
    assert log.user == supervisor and log.field == "export" and log.object_type == "tickets.ticket"


def test_exporting_a_bad_week_is_refused(supervisor, clock):
    response = logged_in(supervisor).get(EXPORT_URL, {"week": "garbage"})
    assert response.status_code == 400
    assert not AccessLog.objects.exists()
