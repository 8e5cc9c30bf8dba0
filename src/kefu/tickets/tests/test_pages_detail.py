"""The ticket page: who may open it, the timeline, and each action posted through the page,
with the service's message shown in that action's form when it refuses."""

import pytest
import time_machine
from django.test import Client

from kefu.tickets import services
from kefu.tickets.models import Ticket, TicketEvent
from kefu.tickets.services import ALREADY_CLAIMED, SOLUTION_REQUIRED, STALE_VERSION
from kefu.tickets.tests.conftest import at
from kefu.tickets.views import MISSING_VERSION

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# Session, user, permissions (2), staff profile and regions of the scope, the ticket with its
# customer, its owner with their name (by id: joins cost PostgreSQL more to plan than to run),
# the standard phrases, the events with their actors, the engineers offered for a hand-off.
DETAIL_QUERY_BUDGET = 11


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def url(ticket, action=None):
    return f"/tickets/{ticket.pk}/{action}/" if action else f"/tickets/{ticket.pk}/"


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def form_html(response, action):
    """The HTML of one action's form on the page."""
    return response.content.decode().split(f'id="action-{action}"')[1].split("</form>")[0]


@pytest.fixture
def owned(make_ticket, agent):
    return services.ticket_claim(actor=agent, ticket=make_ticket(now="2026-11-24 10:00"),
                                 now=at("2026-11-24 10:05"))


# --- access ------------------------------------------------------------------------------------

def test_it_shows_the_header_the_timeline_and_the_actions(owned, agent, customer):
    services.ticket_add_note(actor=agent, ticket=owned, text="已电话联系客户", customer_visible=True,
                             now=at("2026-11-24 10:10"))
    services.ticket_add_note(actor=agent, ticket=owned, text="内部备注", now=at("2026-11-24 10:20"))
    response = logged_in(agent).get(url(owned))
    assert response.status_code == 200
    html = response.content.decode()
    assert owned.number in html and f'href="/customers/{customer.pk}/"' in html
    assert 'id="timeline"' in html and "已电话联系客户" in html
    synced = [e for e in html.split('class="ticket-event') if "已同步客户" in e]
    assert len(synced) == 1 and "已电话联系客户" in synced[0]
    actions = [a["name"] for a in response.context["actions"]]
    assert actions == ["hold", "resolve", "escalate", "chase", "handoff", "flag_major", "note"]
    assert f'name="version" value="{fresh(owned).version}"' in form_html(response, "hold")


def test_the_timeline_is_a_partial_for_htmx(owned, agent):
    response = logged_in(agent).get(url(owned), headers={**HTMX, "HX-Target": "timeline"})
    html = response.content.decode()
    assert html.startswith('<div id="timeline">') and "<nav" not in html


def test_each_timeline_line_names_its_time_actor_and_expected_completion(owned, agent):
    """The timeline's lines are written in Python: newest first, local times, the actor's name
    (系统 without one), the text escaped, the 已同步客户 badge and the expected completion."""
    services.ticket_add_note(actor=agent, ticket=owned, text="<b>已到店</b> & 检测", customer_visible=True,
                             expected_completion_at=at("2026-11-26 18:30"), now=at("2026-11-24 11:00"))
    TicketEvent.objects.create(ticket=owned, at=at("2026-11-24 12:15"), verb="sla", summary="响应超时")
    html = logged_in(agent).get(url(owned)).content.decode()
    lines = html.split('<ul class="list-unstyled timeline small mb-0">')[1].split("</ul>")[0].split("\n")
    assert lines[0] == '<li class="ticket-event"><span class="text-muted">2026-11-24 12:15</span> 系统：响应超时</li>'
    assert lines[1] == (
        '<li class="ticket-event customer-visible"><span class="text-muted">2026-11-24 11:00</span> '
        f"{agent.staff.display_name}：&lt;b&gt;已到店&lt;/b&gt; &amp; 检测"
        ' <span class="badge text-bg-info synced">已同步客户</span>'
        ' <small class="text-muted">预计完成 2026-11-26 18:30</small></li>')
    assert len(lines) == TicketEvent.objects.filter(ticket=owned).count()
    english = logged_in(agent)
    english.cookies["django_language"] = "en"
    html = english.get(url(owned)).content.decode()
    assert "System: " in html and "Shared with the customer" in html
    assert "Expected completion 2026-11-26 18:30" in html


def test_a_ticket_without_events_says_so(owned, agent):
    TicketEvent.objects.filter(ticket=owned).delete()
    html = logged_in(agent).get(url(owned), headers={**HTMX, "HX-Target": "timeline"}).content.decode()
    assert "暂无动态" in html and "ticket-event" not in html


def test_the_people_offered_are_named_with_number_department_and_availability(
        owned, dispatcher, engineer, department):
    """The assign form offers everyone who works on tickets, the hand-off form the hotline
    engineers: 姓名（工号） · 部门, （暂不可接单） for those not taking tickets now, escaped."""
    from kefu.accounts.models import Department

    engineer.staff.available = False
    engineer.staff.department = Department.objects.create(code="l2", name="<二线> & 技术")
    engineer.staff.save()
    response = logged_in(dispatcher).get(url(owned))
    assign, handoff = form_html(response, "assign"), form_html(response, "handoff")
    assert f'<option value="{dispatcher.pk}">赵敏（D001） · 客服中心</option>' in assign
    expected = f'<option value="{engineer.pk}">陈工（E001） · &lt;二线&gt; &amp; 技术（暂不可接单）</option>'
    assert expected in assign and expected in handoff
    assert "赵敏" not in handoff and '<option value="" selected>任一热线工程师</option>' in handoff
    assert '<option value="" selected>请选择</option>' in assign


def test_the_detail_page_has_a_query_budget(owned, agent, django_assert_max_num_queries):
    for i in range(20):
        services.ticket_add_note(actor=agent, ticket=owned, text=f"进展{i}")
    client = logged_in(agent)
    client.get(url(owned))  # the per-process configuration cache, as in steady state
    with django_assert_max_num_queries(DETAIL_QUERY_BUDGET):
        assert client.get(url(owned)).status_code == 200


def test_the_detail_pages_queries_do_not_grow_with_the_staff(owned, agent, department):
    """The staff offered for assignment and hand-off are labelled with their department: read
    with them, not one query per person (18 extra queries on the benchmark's detail page)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kefu.accounts.services import staff_create

    client = logged_in(agent)
    client.get(url(owned))

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(owned)).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for i in range(12):  # agents (the assign form) and hotline engineers (the hand-off form)
        engineer = {"role": "engineer", "engineer_level": "L2"} if i % 2 else {"role": "agent"}
        staff_create(username=f"desk{i}", password=None, display_name=f"坐席{i}",
                     employee_no=f"A1{i:02d}", department=department, **engineer)
    client.get(url(owned))  # the new people reach the per-process caches
    assert queries() == before


def test_a_manager_sees_the_ticket_but_may_not_act(owned, manager):
    client = logged_in(manager)
    response = client.get(url(owned))
    assert response.status_code == 200
    assert response.context["actions"] == []
    before = fresh(owned)
    response = client.post(url(owned, "hold"), {"version": before.version, "reason": "等配件"})
    assert response.status_code == 403
    assert fresh(owned).status == before.status


def test_nobody_gets_403(owned, nobody):
    client = logged_in(nobody)
    assert client.get(url(owned)).status_code == 403
    assert client.post(url(owned, "claim"), {"version": 1}).status_code == 403


def test_an_engineer_outside_the_region_gets_404(agent, engineer, west_customer, config):
    ticket = services.ticket_create(
        actor=agent, customer=west_customer, channel=config["phone"], ticket_type=config["fault"],
        priority=config["normal"], subject="投影仪不亮", now=at("2026-11-24 10:00"))
    client = logged_in(engineer)
    assert client.get(url(ticket)).status_code == 404
    assert client.post(url(ticket, "claim"), {"version": ticket.version}).status_code == 404
    assert fresh(ticket).owner is None


def test_an_unknown_action_is_404(owned, agent):
    assert logged_in(agent).post(url(owned, "explode"), {"version": 1}).status_code == 404


# --- actions -----------------------------------------------------------------------------------

def test_it_claims_from_the_pool_and_a_second_claim_is_told_it_lost(make_ticket, agent, dispatcher):
    ticket = make_ticket(now="2026-11-24 10:00")
    first = logged_in(agent).get(url(ticket))
    assert 'id="action-claim"' in first.content.decode()
    response = logged_in(agent).post(url(ticket, "claim"), {"version": ticket.version}, follow=True)
    assert response.redirect_chain == [(url(ticket), 302)]
    assert "抢单：操作成功。" in response.content.decode()
    assert fresh(ticket).owner == agent and fresh(ticket).status == Ticket.Status.IN_PROGRESS

    response = logged_in(dispatcher).post(url(ticket, "claim"), {"version": ticket.version})
    assert response.status_code == 409
    assert str(ALREADY_CLAIMED) % {"number": ticket.number} in form_html(response, "claim")
    assert fresh(ticket).owner == agent


def test_hold_then_resume_moves_the_deadline_later(owned, agent):
    due = fresh(owned).resolve_due_at
    with time_machine.travel(at("2026-11-24 14:00"), tick=False):
        client = logged_in(agent)  # a session opened today would have expired by tomorrow
        response = client.post(url(owned, "hold"), {"version": fresh(owned).version, "reason": "等配件"})
        assert response.status_code == 302
    assert fresh(owned).status == Ticket.Status.ON_HOLD
    with time_machine.travel(at("2026-11-24 16:00"), tick=False):
        page = client.get(url(owned))
        assert [a["name"] for a in page.context["actions"]] == ["resume", "escalate", "chase", "handoff", "flag_major", "note"]
        response = client.post(url(owned, "resume"), {"version": fresh(owned).version})
        assert response.status_code == 302
    ticket = fresh(owned)
    assert ticket.status == Ticket.Status.IN_PROGRESS
    assert ticket.resolve_due_at > due


def test_hold_without_a_reason_shows_the_message_in_the_hold_form(owned, agent):
    response = logged_in(agent).post(url(owned, "hold"), {"version": fresh(owned).version, "reason": " "})
    assert response.status_code == 400
    assert "请填写挂起原因。" in form_html(response, "hold")
    assert fresh(owned).status == Ticket.Status.IN_PROGRESS


def test_resolve_with_an_empty_solution_keeps_the_status(owned, agent):
    before = fresh(owned)
    response = logged_in(agent).post(url(owned, "resolve"),
                                     {"version": before.version, "solution": "", "result": "好了"})
    assert response.status_code == 400
    assert str(SOLUTION_REQUIRED) in form_html(response, "resolve")
    after = fresh(owned)
    assert after.status == Ticket.Status.IN_PROGRESS and after.version == before.version


def test_resolve_confirm_close_and_reopen(owned, agent):
    client = logged_in(agent)
    assert client.post(url(owned, "resolve"), {"version": fresh(owned).version, "solution": "更换搓纸轮",
                                                "result": "打印正常"}).status_code == 302
    assert fresh(owned).status == Ticket.Status.RESOLVED
    assert client.post(url(owned, "confirm"), {"version": fresh(owned).version,
                                                "how": "电话回访"}).status_code == 302
    assert client.post(url(owned, "close"), {"version": fresh(owned).version}).status_code == 302
    assert fresh(owned).status == Ticket.Status.CLOSED
    assert [a["name"] for a in client.get(url(owned)).context["actions"]] == ["reopen", "note"]
    assert client.post(url(owned, "reopen"), {"version": fresh(owned).version,
                                               "reason": "又卡纸"}).status_code == 302
    assert fresh(owned).status == Ticket.Status.IN_PROGRESS and fresh(owned).reopen_count == 1


def test_a_stale_version_is_a_conflict_and_changes_nothing(owned, agent, dispatcher):
    stale = fresh(owned).version
    services.ticket_add_note(actor=dispatcher, ticket=owned, text="先看一下", customer_visible=True)
    before = fresh(owned)
    assert before.version != stale
    response = logged_in(agent).post(url(owned, "hold"), {"version": stale, "reason": "等配件"})
    assert response.status_code == 409
    message = str(STALE_VERSION) % {"current": before.version, "given": stale}
    assert message in form_html(response, "hold")
    after = fresh(owned)
    assert (after.status, after.version) == (before.status, before.version)
    assert not TicketEvent.objects.filter(ticket=owned, verb="held").exists()


def test_a_missing_version_is_refused(owned, agent):
    response = logged_in(agent).post(url(owned, "hold"), {"reason": "等配件"})
    assert response.status_code == 400
    assert str(MISSING_VERSION) in form_html(response, "hold")
    assert fresh(owned).status == Ticket.Status.IN_PROGRESS


def test_it_adds_a_customer_visible_note(owned, agent):
    response = logged_in(agent).post(url(owned, "note"), {"version": fresh(owned).version,
                                                          "text": "配件已寄出", "customer_visible": "on"})
    assert response.status_code == 302
    event = TicketEvent.objects.get(ticket=owned, verb="note")
    assert event.summary == "配件已寄出" and event.customer_visible
    assert fresh(owned).first_responded_at is not None


def test_an_action_the_status_does_not_allow_is_a_conflict(owned, agent):
    response = logged_in(agent).post(url(owned, "close"), {"version": fresh(owned).version})
    assert response.status_code == 409
    assert "不能" in form_html(response, "close")
    assert fresh(owned).status == Ticket.Status.IN_PROGRESS
