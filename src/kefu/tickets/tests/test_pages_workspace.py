"""The agent workspace beyond the basic actions: assign/转派, escalate and chase from the ticket
page, actions through htmx refreshing the ticket in place, saved filters, the extra queue
filters, and bulk assign / priority with an outcome per ticket."""

import pytest
from django.test import Client

from kefu.tickets import services
from kefu.tickets.models import SavedFilter, Ticket, TicketEvent
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def test_a_dispatcher_assigns_and_reassigns_with_a_reason(make_ticket, dispatcher, agent, engineer):
    ticket = make_ticket()
    client = logged_in(dispatcher)
    page = client.get(f"/tickets/{ticket.pk}/")
    assert "assign" in [a["name"] for a in page.context["actions"]]
    response = client.post(f"/tickets/{ticket.pk}/assign/", {"version": ticket.version, "owner": agent.pk})
    assert response.status_code == 302
    assert fresh(ticket).owner == agent and fresh(ticket).status == Ticket.Status.IN_PROGRESS
    response = client.post(f"/tickets/{ticket.pk}/assign/", {
        "version": fresh(ticket).version, "owner": engineer.pk, "reason": "需要上门"})
    assert response.status_code == 302
    event = TicketEvent.objects.filter(ticket=ticket, verb="assigned").order_by("-id").first()
    assert fresh(ticket).owner == engineer and event.data["reason"] == "需要上门"
    assert "转派" in event.summary


def test_an_agent_cannot_assign(make_ticket, agent, dispatcher):
    ticket = make_ticket()
    client = logged_in(agent)
    assert "assign" not in [a["name"] for a in client.get(f"/tickets/{ticket.pk}/").context["actions"]]
    response = client.post(f"/tickets/{ticket.pk}/assign/", {"version": ticket.version, "owner": agent.pk})
    assert response.status_code == 403 and fresh(ticket).owner is None


def test_assigning_without_an_owner_is_an_error_in_the_form(make_ticket, dispatcher):
    ticket = make_ticket()
    response = logged_in(dispatcher).post(f"/tickets/{ticket.pk}/assign/", {"version": ticket.version})
    assert response.status_code == 400
    form = response.content.decode().split('id="action-assign"')[1].split("</form>")[0]
    assert "invalid-feedback" in form and fresh(ticket).owner is None


def test_escalate_and_chase_from_the_page(make_ticket, dispatcher, agent):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    client = logged_in(agent)
    response = client.post(f"/tickets/{ticket.pk}/escalate/", {
        "version": ticket.version, "reason": "一线无法定位", "major": "on"})
    assert response.status_code == 302
    assert fresh(ticket).escalation_tier == 2
    response = client.post(f"/tickets/{ticket.pk}/chase/", {"version": fresh(ticket).version,
                                                              "note": "客户来电催促"})
    assert response.status_code == 302 and fresh(ticket).chase_count == 1
    refused = client.post(f"/tickets/{ticket.pk}/escalate/", {"version": fresh(ticket).version})
    assert refused.status_code == 400 and "请填写升级原因" in refused.content.decode()


def test_an_action_through_htmx_refreshes_the_ticket_in_place(make_ticket, dispatcher, agent):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    client = logged_in(agent)
    response = client.post(f"/tickets/{ticket.pk}/note/", {
        "version": ticket.version, "text": "已远程检查驱动"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ticket-page">') and "<html" not in html
    assert 'id="action-flash"' in html and "已远程检查驱动" in html.split('id="timeline"')[1]
    # the forms carry the new version, so the next action is not refused as stale
    assert f'name="version" value="{fresh(ticket).version}"' in html


def test_a_refused_htmx_action_shows_its_error_in_place(make_ticket, dispatcher, agent):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    response = logged_in(agent).post(f"/tickets/{ticket.pk}/hold/", {"version": ticket.version},
                                     headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ticket-page">')
    form = html.split('id="action-hold"')[1].split("</form>")[0]
    assert "请填写挂起原因" in form and fresh(ticket).status == Ticket.Status.IN_PROGRESS


def test_saved_filters_are_per_user(make_ticket, agent, dispatcher, config):
    client = logged_in(agent)
    query = f"q=pool&priority={config['urgent'].pk}"
    response = client.post("/tickets/filters/", {"name": "紧急待抢", "query": query})
    assert response.status_code == 302 and response["Location"] == f"/tickets/?{query}"
    saved = SavedFilter.objects.get(user=agent)
    page = client.get("/tickets/")
    assert f'href="?{query}"'.replace("&", "&amp;") in page.content.decode()
    # another user neither sees nor deletes it
    other = logged_in(dispatcher)
    assert "紧急待抢" not in other.get("/tickets/").content.decode()
    assert other.post(f"/tickets/filters/{saved.pk}/delete/").status_code == 404
    assert client.post(f"/tickets/filters/{saved.pk}/delete/").status_code == 302
    assert not SavedFilter.objects.exists()


def test_a_saved_filter_needs_a_name(agent, config):
    response = logged_in(agent).post("/tickets/filters/", {"name": "", "query": "q=pool"})
    assert response.status_code == 302 and not SavedFilter.objects.exists()


def test_the_queue_filters_by_region_department_and_date(make_ticket, agent, dispatcher, customer,
                                                         west_customer, regions, department, config):
    east = make_ticket(now="2026-11-20 10:00")
    west = services.ticket_create(actor=agent, customer=west_customer, channel=config["phone"],
                                  ticket_type=config["fault"], priority=config["normal"],
                                  subject="西区", department=department, now=at("2026-11-23 10:00"))
    client = logged_in(dispatcher)

    def listed(**params):
        response = client.get("/tickets/", {"q": "pool", **params})
        assert response.status_code == 200
        return {t.pk for t in response.context["tickets"]}

    assert listed() == {east.pk, west.pk}
    assert listed(region=regions["west"].pk) == {west.pk}
    assert listed(department=department.pk) == {west.pk}
    assert listed(created_from="2026-11-21") == {west.pk}
    assert listed(created_to="2026-11-20") == {east.pk}
    response = client.get("/tickets/", {"q": "pool", "created_from": "2026-11-23", "created_to": "2026-11-01"})
    assert list(response.context["tickets"]) == [] and 'id="filter-errors"' in response.content.decode()


def test_bulk_assign_reports_each_ticket(make_ticket, dispatcher, agent, engineer):
    first, second = make_ticket(), make_ticket()
    closed = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    closed = services.ticket_resolve(actor=agent, ticket=closed, solution="s", result="r")
    response = logged_in(dispatcher).post("/tickets/bulk/", {
        "action": "assign", "owner": engineer.pk, "tickets": [first.pk, second.pk, closed.pk, 999999]})
    assert response.status_code == 200
    outcomes = {o["pk"]: o for o in response.context["outcomes"]}
    assert outcomes[first.pk]["ok"] and outcomes[second.pk]["ok"]
    assert not outcomes[closed.pk]["ok"] and "已解决" in outcomes[closed.pk]["message"]
    assert not outcomes[999999]["ok"]
    assert response.context["done"] == 2 and response.context["failed"] == 2
    assert fresh(first).owner == engineer and fresh(closed).owner == agent


def test_bulk_priority_recomputes_the_deadlines(make_ticket, dispatcher, config):
    ticket = make_ticket(now="2026-11-23 10:00")  # normal fault: due a working day later
    assert fresh(ticket).resolve_due_at == at("2026-11-24 10:00")
    response = logged_in(dispatcher).post("/tickets/bulk/", {
        "action": "priority", "priority": config["urgent"].pk, "tickets": [ticket.pk]})
    assert response.context["done"] == 1
    row = fresh(ticket)
    assert row.priority == config["urgent"]
    assert row.resolve_due_at == at("2026-11-23 14:00")  # urgent fault: 4 natural hours
    assert TicketEvent.objects.filter(ticket=ticket, verb="priority_changed").exists()


def test_bulk_needs_tickets_and_a_target(make_ticket, dispatcher, agent):
    ticket = make_ticket()
    client = logged_in(dispatcher)
    response = client.post("/tickets/bulk/", {"action": "assign", "tickets": [ticket.pk]})
    assert response.status_code == 302 and fresh(ticket).owner is None
    response = client.post("/tickets/bulk/", {"action": "assign", "owner": agent.pk})
    assert response.status_code == 302


def test_agents_have_no_bulk_actions(make_ticket, agent):
    make_ticket()
    client = logged_in(agent)
    assert 'id="bulk-actions"' not in client.get("/tickets/", {"q": "pool"}).content.decode()
    assert client.post("/tickets/bulk/", {"action": "assign"}).status_code == 403


def test_set_priority_keeps_hold_time_and_refuses_closed_tickets(make_ticket, dispatcher, agent, config):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-23 10:00"),
                                    owner=agent, now=at("2026-11-23 10:05"))
    ticket = services.ticket_hold(actor=agent, ticket=ticket, reason="等配件", now=at("2026-11-23 11:00"))
    ticket = services.ticket_resume(actor=agent, ticket=ticket, now=at("2026-11-23 13:00"))
    assert ticket.paused_seconds == 3600  # working time: the lunch hour does not count
    ticket = services.ticket_set_priority(actor=dispatcher, ticket=ticket, priority=config["urgent"],
                                          now=at("2026-11-23 13:05"))
    # 4 natural hours from intake, plus the hour on hold
    assert ticket.resolve_due_at == at("2026-11-23 15:00")
    ticket = services.ticket_resolve(actor=agent, ticket=ticket, solution="s", result="r")
    from kefu.core.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        services.ticket_set_priority(actor=dispatcher, ticket=ticket, priority=config["low"])
    assert fresh(ticket).priority == config["urgent"]


def test_the_major_problem_list_is_a_queue(make_ticket, dispatcher, agent):
    plain = make_ticket()
    major = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    services.ticket_escalate(actor=agent, ticket=major, reason="同型号批量故障", major=True)
    response = logged_in(dispatcher).get("/tickets/", {"q": "major"})
    assert [t.pk for t in response.context["tickets"]] == [major.pk]
    counts = logged_in(dispatcher).get("/tickets/counts/").context["counts"]
    assert {c["name"]: c["count"] for c in counts}["major"] == 1
    assert plain.pk not in [t.pk for t in response.context["tickets"]]


def test_flag_major_toggles_from_the_page(make_ticket, dispatcher, agent):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    client = logged_in(agent)
    labels = {a["name"]: a["label"] for a in client.get(f"/tickets/{ticket.pk}/").context["actions"]}
    assert labels["flag_major"] == "标记重大问题"
    response = client.post(f"/tickets/{ticket.pk}/flag_major/", {"version": ticket.version,
                                                                  "reason": "批量故障"})
    assert response.status_code == 302 and fresh(ticket).is_major
    labels = {a["name"]: a["label"] for a in client.get(f"/tickets/{ticket.pk}/").context["actions"]}
    assert labels["flag_major"] == "取消重大问题"
    client.post(f"/tickets/{ticket.pk}/flag_major/", {"version": fresh(ticket).version, "reason": "误判"})
    assert not fresh(ticket).is_major


def test_after_the_reopen_window_the_page_offers_a_linked_new_ticket(make_ticket, dispatcher, agent):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-10-01 10:00"),
                                    owner=agent, now=at("2026-10-01 10:05"))
    ticket = services.ticket_resolve(actor=agent, ticket=ticket, solution="更换硒鼓", result="恢复",
                                     now=at("2026-10-01 11:00"))
    client = logged_in(agent)
    names = [a["name"] for a in client.get(f"/tickets/{ticket.pk}/").context["actions"]]
    assert "follow_up" in names and "reopen" not in names
    response = client.post(f"/tickets/{ticket.pk}/follow_up/", {"version": ticket.version,
                                                                 "reason": "又卡纸了"})
    new = Ticket.objects.get(linked_to=ticket)
    assert response.status_code == 302 and response["Location"] == f"/tickets/{new.pk}/"
    htmx = client.post(f"/tickets/{ticket.pk}/follow_up/", {"version": ticket.version, "reason": "再次"},
                       headers=HTMX)
    assert htmx.status_code == 204 and htmx["HX-Redirect"].startswith("/tickets/")


def test_within_the_window_the_page_offers_reopen_not_a_new_ticket(make_ticket, dispatcher, agent):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    ticket = services.ticket_resolve(actor=agent, ticket=ticket, solution="s", result="r")
    page = logged_in(agent).get(f"/tickets/{ticket.pk}/")
    names = [a["name"] for a in page.context["actions"]]
    assert "reopen" in names and "follow_up" not in names
    # the link the agent sends the customer to confirm
    assert page.context["confirm_url"].startswith("http://testserver/t/confirm/")
    assert 'id="confirm-url"' in page.content.decode()


def test_hand_off_and_accept_from_the_page(make_ticket, agent, engineer):
    ticket = make_ticket()
    client = logged_in(agent)
    names = [a["name"] for a in client.get(f"/tickets/{ticket.pk}/").context["actions"]]
    assert "handoff" in names and "handoff_accept" not in names
    response = client.post(f"/tickets/{ticket.pk}/handoff/", {"version": ticket.version,
                                                               "to": engineer.pk, "reason": "忙线"})
    assert response.status_code == 302 and fresh(ticket).handoff_to == engineer
    page = logged_in(engineer).get(f"/tickets/{ticket.pk}/")
    assert 'id="ticket-handoff"' in page.content.decode()
    assert "handoff_accept" in [a["name"] for a in page.context["actions"]]
    response = logged_in(engineer).post(f"/tickets/{ticket.pk}/handoff_accept/",
                                        {"version": fresh(ticket).version})
    assert response.status_code == 302
    assert fresh(ticket).owner == engineer and fresh(ticket).handoff_due_at is None


def test_a_note_longer_than_its_event_can_hold_is_refused_in_place(make_ticket, dispatcher, agent):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    response = logged_in(agent).post(f"/tickets/{ticket.pk}/note/", {
        "version": ticket.version, "text": "很长" * 251})
    assert response.status_code == 400
    assert "最多 500 个字" in response.content.decode().split('id="action-note"')[1]
    assert not TicketEvent.objects.filter(ticket=ticket, verb="note").exists()
