"""POST /api/v1/tickets/{id}/{action}: every action through the API, each answering with the
updated ticket; refused moves are 409 ``invalid_transition`` with nothing changed, stale
versions 409 ``conflict``, permissions as on the ticket page, out-of-scope tickets 404."""

import pytest
import time_machine
from django.test import Client

from kefu.tickets import services, views, workflow
from kefu.tickets.api import ACTION_PERMS, UNKNOWN_OWNER
from kefu.tickets.models import Ticket
from kefu.tickets.services import STALE_VERSION
from kefu.tickets.tests.conftest import at
from kefu.tickets.tests.test_api import URL, api_client, assert_error, post

pytestmark = pytest.mark.django_db

S = Ticket.Status


def act(client, ticket, action, data=None):
    url = f"{URL}/{ticket.pk}/{action.replace('_', '-')}"
    if data is None:  # no body at all, as `curl -X POST` sends
        return client.generic("POST", url)
    return post(client, url, data)


def ok(response):
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def working(make_ticket, dispatcher, agent):
    """A ticket alice is working on."""
    return services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)


@pytest.fixture
def resolved(working, agent):
    return services.ticket_resolve(actor=agent, ticket=working, solution="更换搓纸轮", result="已修复")


def status_of(ticket):
    return Ticket.objects.get(pk=ticket.pk).status


# --- the permission map ----------------------------------------------------------------------

def test_every_action_of_the_ticket_page_is_in_the_api_with_the_same_permission():
    page = {("notes" if name == "note" else name): spec.perm for name, spec in views.ACTIONS.items()}
    assert {name: ACTION_PERMS.get(name) for name in page} == page
    document = Client().get("/api/openapi.json").json()
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {f"tickets_{name}" for name in ACTION_PERMS} <= operations


# --- each action -----------------------------------------------------------------------------

def test_queue_moves_a_new_ticket_to_the_pool(make_ticket, dispatcher, agent):
    ticket = make_ticket()
    assert_error(act(api_client(agent), ticket, "queue"), 403, "permission_denied")
    body = ok(act(api_client(dispatcher), ticket, "queue"))
    assert (body["status"], body["version"]) == ("unassigned", 2)
    assert body["last_events"][0]["verb"] == "queued"


def test_assign_gives_the_ticket_to_someone_who_works_tickets(make_ticket, dispatcher, agent,
                                                              engineer, manager):
    ticket = make_ticket()
    client = api_client(dispatcher)
    body = ok(act(client, ticket, "assign", {"owner_id": agent.pk, "version": 1}))
    assert body["status"] == "in_progress" and body["owner"] == {"id": agent.pk, "name": "王丽"}
    body = ok(act(client, ticket, "assign", {"owner_id": engineer.pk, "reason": "需要上门"}))
    assert body["owner"]["id"] == engineer.pk
    assert body["last_events"][0]["summary"] == "由 王丽 转派给 陈工"
    for bad in (manager.pk, 99999999):
        response = act(client, ticket, "assign", {"owner_id": bad})
        body = assert_error(response, 422, "validation_failed", fields=["owner_id"])
        assert body["fields"]["owner_id"] == [str(UNKNOWN_OWNER)]
    assert_error(act(client, ticket, "assign", {}), 422, "validation_failed", fields=["owner_id"])
    assert_error(act(api_client(agent), ticket, "assign", {"owner_id": agent.pk}), 403,
                 "permission_denied")


def test_claim_takes_a_pooled_ticket_once(make_ticket, agent, dispatcher, manager, engineer):
    ticket = make_ticket()
    assert_error(act(api_client(manager), ticket, "claim"), 403, "permission_denied")
    body = ok(act(api_client(engineer), ticket, "claim", {"version": 1}))
    assert body["owner"]["id"] == engineer.pk and body["status"] == "in_progress"
    assert "claim" not in body["actions"]
    response = act(api_client(agent), ticket, "claim")
    body = assert_error(response, 409, "conflict")
    assert ticket.number in body["message"]
    assert Ticket.objects.get(pk=ticket.pk).owner == engineer


def test_hold_and_resume_stop_and_restart_the_clock(working, agent):
    client = api_client(agent)
    body = assert_error(act(client, working, "hold", {}), 422, "validation_failed", ["reason"])
    assert body["fields"]["reason"] == ["请填写挂起原因。"]
    body = ok(act(client, working, "hold", {"reason": "等客户寄回设备", "version": working.version}))
    assert body["status"] == "on_hold" and body["sla"]["resolve_state"] == "paused"
    body = ok(act(client, working, "resume"))
    assert body["status"] == "in_progress" and body["sla"]["on_hold_since"] is None
    assert body["last_events"][0]["verb"] == "resumed"


def test_resolve_with_compensation_then_confirm_and_close(working, agent):
    client = api_client(agent)
    body = ok(act(client, working, "resolve", {
        "solution": "更换搓纸轮", "result": "已修复", "compensation_kind": "service",
        "compensation_amount": "50.00", "version": working.version,
    }))
    assert body["status"] == "resolved" and body["resolved_at"]
    assert (body["solution"], body["result"]) == ("更换搓纸轮", "已修复")
    assert (body["compensation_kind"], body["compensation_amount"]) == ("service", "50.00")
    assert body["last_events"][0]["customer_visible"] is True
    body = ok(act(client, working, "confirm", {"how": "电话回访"}))
    assert body["status"] == "awaiting_callback"
    body = ok(act(client, working, "close"))
    assert body["status"] == "closed" and body["closed_at"]
    assert set(body["actions"]) <= {"reopen", "notes", "follow_up"}


@pytest.mark.parametrize(("data", "field", "code"), [
    ({"solution": "", "result": "已修复"}, "solution", "validation_failed"),
    ({"solution": "换件", "result": ""}, "solution", "validation_failed"),
    ({"solution": "换件", "result": "好", "compensation_amount": "-1",
      "compensation_kind": "refund"}, "compensation_amount", "validation_failed"),
    ({"solution": "换件", "result": "好", "compensation_amount": "1.234",
      "compensation_kind": "refund"}, "compensation_amount", "validation_failed"),
    ({"solution": "换件", "result": "好", "compensation_amount": 10}, "compensation_kind",
     "validation_failed"),
    ({"solution": "换件", "result": "好", "compensation_kind": "cash"}, "compensation_kind",
     "validation_failed"),
    ({"solution": "这个不归我们管", "result": "好"}, "solution", "forbidden_phrase"),
    ({"solution": "大概明天修好", "result": "好"}, "solution", "wording_warning"),
])
def test_a_bad_resolution_is_a_422_and_the_ticket_stays(working, agent, data, field, code):
    response = act(api_client(agent), working, "resolve", data)
    assert_error(response, 422, code, fields=[field])
    assert status_of(working) == S.IN_PROGRESS


def test_acknowledged_wording_is_let_through(working, agent):
    body = ok(act(api_client(agent), working, "resolve", {
        "solution": "大概明天修好", "result": "好", "acknowledge_wording": True}))
    assert body["status"] == "resolved"


def test_reopen_needs_a_reason(resolved, agent):
    client = api_client(agent)
    assert_error(act(client, resolved, "reopen", {}), 422, "validation_failed", ["reason"])
    body = ok(act(client, resolved, "reopen", {"reason": "又卡纸了"}))
    assert body["status"] == "in_progress" and body["reopen_count"] == 1


def test_reopen_after_the_window_is_refused(make_ticket, dispatcher, agent):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-02 10:00"),
                                    owner=agent, now=at("2026-11-02 10:05"))
    services.ticket_resolve(actor=agent, ticket=ticket, solution="s", result="r",
                            now=at("2026-11-02 11:00"))
    with time_machine.travel(at("2026-11-20 10:00"), tick=False):
        response = act(api_client(agent), ticket, "reopen", {"reason": "复发"})
        body = assert_error(response, 409, "reopen_window_passed")
        assert "复发" in body["message"]
        assert status_of(ticket) == S.RESOLVED
        assert "follow_up" in api_client(agent).get(f"{URL}/{ticket.pk}").json()["actions"]
        body = post(api_client(agent), f"{URL}/{ticket.pk}/follow-up", {"reason": "又坏了"})
    assert body.status_code == 201, body.content
    new = body.json()
    assert new["linked_to_id"] == ticket.pk and new["id"] != ticket.pk
    assert new["subject"].startswith("复发")


def test_a_follow_up_of_an_open_ticket_is_refused(working, agent):
    response = post(api_client(agent), f"{URL}/{working.pk}/follow-up", {"reason": "又坏了"})
    assert_error(response, 409, "invalid_transition")
    assert Ticket.objects.count() == 1


def test_chase_counts_and_raises_the_priority(make_ticket, agent):
    ticket = make_ticket()
    client = api_client(agent)
    body = ok(act(client, ticket, "chase"))
    assert body["chase_count"] == 1 and body["priority"]["code"] == "normal"
    body = ok(act(client, ticket, "chase", {"note": "客户第二次来电"}))
    assert body["chase_count"] == 2 and body["priority"]["code"] == "urgent"


def test_a_closed_ticket_cannot_be_chased(resolved, agent):
    assert_error(act(api_client(agent), resolved, "chase"), 409, "invalid_transition")
    assert Ticket.objects.get(pk=resolved.pk).chase_count == 0


def test_escalate_climbs_the_tiers_then_stops(working, agent):
    client = api_client(agent)
    assert_error(act(client, working, "escalate", {}), 422, "validation_failed", ["reason"])
    body = ok(act(client, working, "escalate", {"reason": "需要热线工程师"}))
    assert body["escalation_tier"] == 2 and body["is_major"] is False
    body = ok(act(client, working, "escalate", {"reason": "批量故障", "major": True}))
    assert body["escalation_tier"] == 3 and body["is_major"] is True
    assert "escalate" not in body["actions"]
    assert_error(act(client, working, "escalate", {"reason": "再升"}), 409, "invalid_transition")
    assert Ticket.objects.get(pk=working.pk).escalation_tier == 3


def test_notes_are_added_and_a_visible_one_is_the_first_response(working, agent):
    client = api_client(agent)
    assert_error(act(client, working, "notes", {"text": "  "}), 422, "validation_failed", ["text"])
    body = ok(act(client, working, "notes", {"text": "内部：已订配件"}))
    assert body["sla"]["first_responded_at"] is None
    assert body["last_events"][0]["summary"] == "内部：已订配件"
    body = ok(act(client, working, "notes", {
        "text": "已安排工程师明天上门", "customer_visible": True,
        "expected_completion_at": "2026-11-25T17:00:00+08:00"}))
    assert body["sla"]["first_responded_at"] and body["sla"]["response_state"] == "responded"
    note = body["last_events"][0]
    assert note["customer_visible"] is True and note["expected_completion_at"]
    blocked = act(client, working, "notes", {"text": "不知道", "customer_visible": True})
    assert_error(blocked, 422, "forbidden_phrase", ["text"])


def test_priority_changes_recompute_the_deadlines(make_ticket, dispatcher, agent):
    ticket = make_ticket()
    assert_error(act(api_client(agent), ticket, "priority", {"priority": "urgent"}), 403,
                 "permission_denied")
    client = api_client(dispatcher)
    assert_error(act(client, ticket, "priority", {"priority": "asap"}), 422, "validation_failed",
                 ["priority"])
    body = ok(act(client, ticket, "priority", {"priority": "urgent", "reason": "客户停产"}))
    assert body["priority"]["code"] == "urgent"
    assert Ticket.objects.get(pk=ticket.pk).resolve_due_at < ticket.resolve_due_at


def test_flag_major_flags_and_clears_never_twice(working, agent):
    client = api_client(agent)
    assert_error(act(client, working, "flag_major", {"major": True}), 422, "validation_failed",
                 ["reason"])
    assert ok(act(client, working, "flag_major", {"major": True, "reason": "同楼多台"}))["is_major"]
    assert_error(act(client, working, "flag_major", {"major": True, "reason": "再标"}), 409,
                 "invalid_transition")
    assert not ok(act(client, working, "flag_major", {"major": False, "reason": "误判"}))["is_major"]


def test_a_handoff_is_accepted_by_the_named_engineer(working, agent, engineer, dispatcher,
                                                     manager):
    client = api_client(agent)
    for bad in (manager.pk, 99999999):
        body = assert_error(act(client, working, "handoff", {"to_id": bad}), 422,
                            "validation_failed", ["to_id"])
        assert body["fields"]["to_id"] == [str(services.HANDOFF_TO_INVALID)]
    body = ok(act(client, working, "handoff", {"to_id": engineer.pk, "reason": "需要工程师",
                                               "version": working.version}))
    assert body["handoff_to"]["id"] == engineer.pk and body["handoff_due_at"]
    assert "handoff_accept" in api_client(engineer).get(f"{URL}/{working.pk}").json()["actions"]
    body = ok(act(api_client(engineer), working, "handoff_accept"))
    assert body["owner"]["id"] == engineer.pk and body["handoff_to"] is None
    assert body["last_events"][0]["verb"] == "handoff_accepted"
    assert_error(act(api_client(engineer), working, "handoff_accept"), 409, "invalid_transition")


def test_a_handoff_named_for_someone_else_is_refused(working, agent, engineer, regions):
    from kefu.accounts.services import staff_create

    colleague = staff_create(username="ed", password="x", display_name="二工", employee_no="E009",
                             role="engineer", regions=[regions["east"]], engineer_level="L2")
    ok(act(api_client(agent), working, "handoff", {"to_id": engineer.pk}))
    response = act(api_client(colleague), working, "handoff_accept")
    assert_error(response, 403, "permission_denied")
    assert Ticket.objects.get(pk=working.pk).handoff_to == engineer


# --- refusals --------------------------------------------------------------------------------

REFUSED = [  # action, body, a status it cannot start from
    ("queue", None, S.IN_PROGRESS), ("claim", None, S.ON_HOLD), ("hold", {"reason": "r"}, S.NEW),
    ("resume", None, S.IN_PROGRESS), ("resolve", {"solution": "s", "result": "r"}, S.NEW),
    ("confirm", {"how": "电话"}, S.IN_PROGRESS), ("close", None, S.RESOLVED),
    ("reopen", {"reason": "r"}, S.IN_PROGRESS), ("assign", "owner", S.CLOSED),
]


@pytest.mark.parametrize(("action", "data", "start"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_transition_is_a_409_and_changes_nothing(make_ticket, dispatcher, action, data,
                                                           start):
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(status=start)
    if data == "owner":
        data = {"owner_id": dispatcher.pk}
    response = act(api_client(dispatcher), ticket, action, data)
    body = assert_error(response, 409, "invalid_transition")
    if action != "claim":  # claim names the ticket; the table names the status and the action
        assert str(Ticket.Status(start).label) in body["message"]
        assert str(workflow.ACTION_LABELS[action]) in body["message"]
    row = Ticket.objects.get(pk=ticket.pk)
    assert (row.status, row.version) == (start, 1)
    assert row.events.count() == 1  # only "created"


@pytest.mark.parametrize(("action", "data"), [
    ("hold", {"reason": "等配件"}), ("resolve", {"solution": "s", "result": "r"}),
    ("escalate", {"reason": "难"}), ("assign", "owner"), ("claim", {}), ("notes", {"text": "x"}),
    ("chase", {}), ("flag_major", {"major": True, "reason": "r"}),
    ("handoff", {"reason": "忙"}), ("priority", {"priority": "urgent"}),
])
def test_a_stale_version_on_an_action_is_a_409_and_changes_nothing(working, agent, dispatcher,
                                                                   action, data):
    if data == "owner":
        data = {"owner_id": agent.pk}
    if action == "claim":
        Ticket.objects.filter(pk=working.pk).update(owner=None, status=S.UNASSIGNED)
    stale = working.version - 1
    response = act(api_client(dispatcher), working, action, {**data, "version": stale})
    body = assert_error(response, 409, "conflict")
    assert body["message"] == str(STALE_VERSION) % {"current": working.version, "given": stale}
    assert Ticket.objects.get(pk=working.pk).version == working.version
    assert working.events.count() == 2


def test_actions_need_a_token(working):
    for action in ("claim", "hold", "notes"):
        assert_error(Client().post(f"{URL}/{working.pk}/{action}"), 401, "unauthorized")


def test_actions_on_an_out_of_scope_ticket_are_a_404(working, other_region_engineer):
    client = api_client(other_region_engineer)
    for action, data in (("claim", None), ("hold", {"reason": "r"}), ("notes", {"text": "x"})):
        assert_error(act(client, working, action, data), 404, "not_found")
    assert status_of(working) == S.IN_PROGRESS


def test_a_manager_may_not_act(working, manager):
    client = api_client(manager)
    for action, data in (("hold", {"reason": "r"}), ("notes", {"text": "x"}), ("chase", None)):
        assert_error(act(client, working, action, data), 403, "permission_denied")


def test_an_unknown_action_and_a_wrong_method_keep_the_error_shape(working, agent):
    client = api_client(agent)
    assert_error(act(client, working, "teleport", {}), 404, "not_found")
    response = client.get(f"{URL}/{working.pk}/hold")
    assert_error(response, 405, "method_not_allowed")


def test_a_ticket_lives_its_whole_life_through_the_api(agent, dispatcher, customer, config):
    client, lead = api_client(agent), api_client(dispatcher)
    created = post(client, URL, {"customer_id": customer.pk, "channel": "phone",
                                 "ticket_type": "fault", "priority": "normal",
                                 "subject": "打印机卡纸"})
    ticket = Ticket.objects.get(pk=created.json()["id"])
    steps = [
        (lead, "queue", None, "unassigned"),
        (client, "claim", None, "in_progress"),
        (client, "notes", {"text": "已远程查看", "customer_visible": True}, "in_progress"),
        (client, "hold", {"reason": "等配件"}, "on_hold"),
        (client, "resume", None, "in_progress"),
        (client, "resolve", {"solution": "更换搓纸轮", "result": "已修复"}, "resolved"),
        (client, "confirm", {"how": "电话回访"}, "awaiting_callback"),
        (client, "close", None, "closed"),
        (client, "reopen", {"reason": "又卡纸"}, "in_progress"),
    ]
    version = 1
    for who, action, data, expected in steps:
        body = ok(act(who, ticket, action, {**(data or {}), "version": version}))
        assert body["status"] == expected, action
        version = body["version"]
    verbs = [e["verb"] for e in client.get(f"{URL}/{ticket.pk}/events").json()]
    assert verbs[0] == "reopened" and verbs[-1] == "created" and len(verbs) == 10
