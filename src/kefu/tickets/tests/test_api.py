"""/api/v1/tickets: create (with idempotency), list (queues, filters, keyset pages, query
budget, no personal data), detail, timeline, the event feed, update (409 on a stale version),
and the error shape for bad input, missing tokens, missing permissions and out-of-scope tickets."""

import datetime
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client

from kefu.accounts.models import Department
from kefu.accounts.services import token_create
from kefu.customers.tests.test_api_customers import api_client, as_text, assert_error
from kefu.tickets import services
from kefu.tickets.api import BAD_CURSOR, DATE_RANGE_REVERSED, UNKNOWN_CUSTOMER, encode_cursor
from kefu.tickets.models import Ticket, TicketEvent
from kefu.tickets.services import STALE_VERSION
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets"
NOW = at("2026-11-24 12:00")
CLEAR_VALUES = ["13812345678", "110101199001011234", "世纪大道", "张三明"]


def post(client, url, data, **headers):
    return client.post(url, data=data, content_type="application/json", headers=headers)


def patch(client, url, data):
    return client.patch(url, data=data, content_type="application/json")


def intake(customer, **extra):
    return {"customer_id": customer.pk, "channel": "phone", "ticket_type": "fault",
            "priority": "normal", "subject": "打印机卡纸", **extra}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


# --- create ----------------------------------------------------------------------------------

def test_it_creates_a_ticket_with_its_deadlines(agent, customer, config):
    asset = customer.assets.get()
    contact = customer.contacts.get()
    response = post(api_client(agent), URL, intake(
        customer, contact_id=contact.pk, asset_id=asset.pk, department="cs", service_mode="onsite",
        description="第三页开始卡纸", occurred_at="2026-11-23T09:30:00+08:00",
        environment="Windows 11", error_shown="E-03", customer_expects_at="2026-11-25T18:00:00",
    ))
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get()
    assert body["id"] == ticket.pk and body["number"] == ticket.number
    assert body["number"].startswith("CS")
    assert body["status"] == "new" and body["status_label"] == "新建"
    assert body["priority"] == {"code": "normal", "name": "普通"}
    assert body["ticket_type"]["code"] == "fault" and body["channel"]["code"] == "phone"
    assert body["department"]["code"] == "cs" and body["service_mode"]["code"] == "onsite"
    assert body["customer"] == {"id": customer.pk, "number": customer.number, "display_name": "张*明"}
    assert body["contact"]["id"] == contact.pk and body["contact"]["name_masked"] == "张*明"
    assert body["asset"] == {"id": asset.pk, "product_model": "EPSON L3150",
                             "serial": "LFX123456789", "plate": ""}
    assert body["in_warranty"] is True
    assert body["environment"] == "Windows 11" and body["error_shown"] == "E-03"
    # A time without an offset is read as local (Asia/Shanghai) time.
    assert ticket.customer_expects_at == at("2026-11-25 18:00")
    assert body["sla"]["policy"] == "普通·技术故障"
    assert body["sla"]["resolve_due_at"] and body["resolve_due_at"]
    assert body["version"] == 1
    assert body["created_by"]["name"] == "王丽"
    assert [e["verb"] for e in body["last_events"]] == ["created"]
    assert "claim" in body["actions"] and "resolve" not in body["actions"]
    for clear in CLEAR_VALUES:
        assert clear not in as_text(response)


@pytest.mark.parametrize("auto_assign", [Department.AutoAssign.OFF, Department.AutoAssign.ROUND_ROBIN])
def test_the_created_answer_is_what_a_read_gives(agent, dispatcher, customer, config, department,
                                                  clock, auto_assign):
    """The answer to a create is built from the ticket and events in hand (no read back): it
    must equal what GET gives for the same ticket, with auto-assignment's event too."""
    department.auto_assign = auto_assign
    department.save()
    client = api_client(agent)
    created = post(client, URL, intake(customer, department=department.code))
    assert created.status_code == 201, created.content
    body = created.json()
    read = client.get(f"{URL}/{body['id']}").json()
    assert body == read
    verbs = [e["verb"] for e in body["last_events"]]
    assert verbs == (["created"] if auto_assign == "off" else ["auto_assigned", "created"])
    # docs/api.md: every time in an answer is UTC; deadlines just computed are local datetimes
    times = [v for v in _leaves(body) if isinstance(v, str) and v[:4] == "2026" and "T" in v]
    assert len(times) >= 6 and all(v.endswith("Z") for v in times), times


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_the_same_idempotency_key_sent_ten_times_creates_one_ticket(agent, customer, config):
    client = api_client(agent)
    responses = [post(client, URL, intake(customer), **{"Idempotency-Key": "order-7781"})
                 for _ in range(10)]
    assert Ticket.objects.count() == 1
    assert [r.status_code for r in responses] == [201] + [200] * 9
    assert {r.json()["number"] for r in responses} == {Ticket.objects.get().number}
    assert TicketEvent.objects.filter(verb="created").count() == 1


def test_a_channel_message_id_is_an_idempotency_key_per_channel(agent, customer, config):
    client = api_client(agent)
    first = post(client, URL, intake(customer, channel="wechat", message_id="wx-991"))
    again = post(client, URL, intake(customer, channel="wechat", message_id="wx-991"))
    other_channel = post(client, URL, intake(customer, channel="email", message_id="wx-991"))
    assert (first.status_code, again.status_code, other_channel.status_code) == (201, 200, 201)
    assert first.json()["id"] == again.json()["id"] != other_channel.json()["id"]
    assert Ticket.objects.get(pk=first.json()["id"]).idempotency_key == "wechat:wx-991"


def test_without_a_key_every_post_is_a_new_ticket(agent, customer, config):
    client = api_client(agent)
    post(client, URL, intake(customer))
    post(client, URL, intake(customer))
    assert Ticket.objects.count() == 2


def test_a_key_used_on_a_ticket_the_caller_cannot_see_is_a_conflict(agent, customer, config):
    from kefu.accounts.services import staff_create

    tech = Department.objects.create(code="tech", name="技术支持")
    post(api_client(agent), URL, intake(customer, department="cs"), **{"Idempotency-Key": "k1"})
    other = staff_create(username="tina", password="x", display_name="唐娜", employee_no="A009",
                         role="agent", department=tech)
    response = post(api_client(other), URL, intake(customer), **{"Idempotency-Key": "k1"})
    body = assert_error(response, 409, "conflict", fields=["Idempotency-Key"])
    assert Ticket.objects.get().number not in str(body)
    assert Ticket.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_key_create_one_ticket(agent, customer, config):
    _row, token = token_create(user=agent, name="concurrent")
    barrier = threading.Barrier(8)
    statuses, numbers, lock = [], [], threading.Lock()

    def send():
        try:
            barrier.wait()
            response = post(Client(headers={"Authorization": f"Bearer {token}"}), URL,
                            intake(customer), **{"Idempotency-Key": "race-1"})
            with lock:
                statuses.append(response.status_code)
                numbers.append(response.json().get("number"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Ticket.objects.count() == 1
    assert sorted(statuses) == [200] * 7 + [201], statuses
    assert set(numbers) == {Ticket.objects.get().number}


@pytest.mark.django_db(transaction=True)
def test_a_keyed_intake_that_is_the_whole_transaction_needs_no_savepoint(agent, customer, config):
    """The API's intake is the outermost transaction: no SAVEPOINT around the INSERT."""
    from django.test.utils import CaptureQueriesContext

    client = api_client(agent)
    with CaptureQueriesContext(connection) as queries:
        response = post(client, URL, intake(customer), **{"Idempotency-Key": "order-5521"})
    assert response.status_code == 201
    sent = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in sent if sql.upper().startswith(("SAVEPOINT", "RELEASE"))], sent
    assert any(sql.startswith("INSERT INTO") for sql in sent)


@pytest.mark.django_db(transaction=True)
def test_a_key_taken_between_the_check_and_the_insert_hands_back_that_ticket(
        agent, customer, config, monkeypatch):
    """The race a concurrent intake can win: the key is not there when checked, and is when
    the INSERT runs. Outermost, the whole intake is rolled back (its number too: no gap) and
    the winner's ticket handed back; inside a caller's transaction, a savepoint keeps that
    transaction usable."""
    from django.db import transaction

    refs = {"channel": config["phone"], "ticket_type": config["fault"], "priority": config["normal"]}
    first = services.ticket_create(actor=agent, customer=customer, subject="卡纸",
                                   idempotency_key="race-2", **refs)
    monkeypatch.setattr(services._by_idempotency_key, "first", lambda **values: None)
    again = services.ticket_create(actor=agent, customer=customer, subject="卡纸",
                                   idempotency_key="race-2", **refs)
    assert again.pk == first.pk and Ticket.objects.count() == 1
    with transaction.atomic():
        inner = services.ticket_create(actor=agent, customer=customer, subject="卡纸",
                                       idempotency_key="race-2", **refs)
        assert inner.pk == first.pk
        assert Ticket.objects.count() == 1  # the caller's transaction still works
    following = services.ticket_create(actor=agent, customer=customer, subject="下一张", **refs)
    assert int(following.number[-4:]) == int(first.number[-4:]) + 1  # no number was used up


@pytest.mark.parametrize(("change", "field"), [
    ({"channel": "pigeon"}, "channel"),
    ({"ticket_type": "nope"}, "ticket_type"),
    ({"priority": "whenever"}, "priority"),
    ({"department": "nowhere"}, "department"),
    ({"service_mode": "teleport"}, "service_mode"),
    ({"customer_id": 99999999}, "customer_id"),
    ({"contact_id": 99999999}, "contact_id"),
    ({"asset_id": 99999999}, "asset_id"),
    ({"subject": ""}, "subject"),
    ({"subject": "   "}, "subject"),
    ({"subject": "x" * 201}, "subject"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": "0001-01-01T00:00:00"}, "occurred_at"),
    ({"number": "CS1"}, "number"),
    ({"customer_id": "abc"}, "customer_id"),
])
def test_bad_intake_is_a_422_naming_the_field(agent, customer, config, change, field):
    response = post(api_client(agent), URL, {**intake(customer), **change})
    assert_error(response, 422, "validation_failed", fields=[field])
    assert not Ticket.objects.exists()


def test_all_bad_codes_are_reported_at_once(agent, customer, config):
    response = post(api_client(agent), URL, intake(customer, channel="x", priority="y"))
    body = assert_error(response, 422, "validation_failed", fields=["channel", "priority"])
    assert "“x”" in body["fields"]["channel"][0]


def test_an_inactive_code_is_refused(agent, customer, config):
    config["low"].is_active = False
    config["low"].save()
    response = post(api_client(agent), URL, intake(customer, priority="low"))
    assert_error(response, 422, "validation_failed", fields=["priority"])


def test_a_customer_outside_the_scope_is_unknown(engineer, other_region_engineer, west_customer,
                                                 config):
    from django.contrib.auth.models import Permission

    engineer.user_permissions.add(Permission.objects.get(codename="add_ticket"))
    response = post(api_client(engineer), URL, intake(west_customer))
    body = assert_error(response, 422, "validation_failed", fields=["customer_id"])
    assert body["fields"]["customer_id"] == [str(UNKNOWN_CUSTOMER)]


def test_an_asset_of_another_customer_is_refused(agent, customer, west_customer, config):
    from kefu.customers import services as customer_services

    other = customer_services.asset_create(actor=agent, customer=west_customer,
                                           product_model="HP 1020")
    response = post(api_client(agent), URL, intake(customer, asset_id=other.pk))
    assert_error(response, 422, "validation_failed", fields=["asset_id"])


def test_a_body_that_is_not_json_is_a_400(agent, config):
    response = api_client(agent).post(URL, data="{nope", content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_creating_needs_the_add_permission(engineer, manager, nobody, customer, config):
    for user in (engineer, manager, nobody):
        assert_error(post(api_client(user), URL, intake(customer)), 403, "permission_denied")
    assert not Ticket.objects.exists()


# --- list ------------------------------------------------------------------------------------

def listed(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.parametrize(("queue", "expected"), [
    ("mine", ["held", "overdue", "soon"]),
    ("pool", ["pool"]),
    ("due_soon", ["soon"]),
    ("overdue", ["overdue"]),
    ("on_hold", ["held"]),
    ("awaiting", ["resolved"]),
    ("all", ["held", "overdue", "soon", "resolved", "pool"]),
])
def test_each_queue_lists_its_tickets_in_deadline_order(desk, agent, clock, queue, expected):
    response = api_client(agent).get(URL, {"queue": queue})
    assert listed(response) == [desk[name].pk for name in expected]


def test_the_list_defaults_to_all_and_shows_no_personal_data(desk, agent, clock):
    response = api_client(agent).get(URL)
    assert len(listed(response)) == 5
    item = next(i for i in response.json()["items"] if i["id"] == desk["overdue"].pk)
    assert item["customer"]["display_name"] == "张*明"
    assert item["owner"]["name"] == "王丽"
    assert item["sla_state"] == "overdue" and item["sla_label"].startswith("已超时")
    assert item["status"] == "in_progress" and item["status_label"] == "处理中"
    assert "description" not in item
    held = next(i for i in response.json()["items"] if i["id"] == desk["held"].pk)
    assert held["sla_state"] == "paused"
    soon = next(i for i in response.json()["items"] if i["id"] == desk["soon"].pk)
    assert soon["sla_state"] == "due_soon"
    for clear in CLEAR_VALUES:
        assert clear not in as_text(response)


def test_list_items_are_what_the_schema_and_the_detail_say(desk, agent, clock):
    """The list renders its items itself (no ninja validation): each must hold exactly the
    declared fields and agree, value for value, with the ticket's own answer, which goes
    through the schema."""
    from kefu.tickets.api import TicketListItemOut, TicketPage

    client = api_client(agent)
    body = client.get(URL).json()
    assert set(body) == set(TicketPage.model_fields)
    declared = set(TicketListItemOut.model_fields)
    for item in body["items"]:
        assert set(item) == declared
        detail = client.get(f"{URL}/{item['id']}").json()
        assert {key: detail[key] for key in declared} == item


def test_filters_narrow_the_list(desk, agent, make_ticket, config, department, west_customer,
                                 clock):
    urgent = make_ticket(priority="urgent", kind="consult", now="2026-11-24 10:00")
    Ticket.objects.filter(pk=urgent.pk).update(department=department)
    west = services.ticket_create(
        actor=agent, customer=west_customer, channel=config["phone"], ticket_type=config["fault"],
        priority=config["low"], subject="投影仪", now=at("2026-11-10 10:00"))
    client = api_client(agent)
    assert listed(client.get(URL, {"priority": "urgent"})) == [urgent.pk]
    assert listed(client.get(URL, {"ticket_type": "consult"})) == [urgent.pk]
    assert listed(client.get(URL, {"department": "cs"})) == [urgent.pk]
    assert listed(client.get(URL, {"status": "on_hold"})) == [desk["held"].pk]
    assert listed(client.get(URL, {"region": "west"})) == [west.pk]
    assert listed(client.get(URL, {"customer_id": west_customer.pk})) == [west.pk]
    assert listed(client.get(URL, {"created_from": "2026-11-10", "created_to": "2026-11-10"})) == [
        west.pk]
    assert listed(client.get(URL, {"queue": "pool", "priority": "urgent"})) == [urgent.pk]
    assert listed(client.get(URL, {"priority": "unknown"})) == []


@pytest.mark.parametrize(("params", "field"), [
    ({"queue": "everything"}, "queue"),
    ({"status": "lost"}, "status"),
    ({"created_from": "2026-13-01"}, "created_from"),
    ({"created_from": "2026-11-25", "created_to": "2026-11-24"}, "created_to"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"cursor": "not a cursor"}, "cursor"),
    ({"cursor": "Zm9vOmJhcg"}, "cursor"),
    ({"customer_id": "x"}, "customer_id"),
])
def test_bad_list_parameters_are_a_422(agent, config, params, field):
    body = assert_error(api_client(agent).get(URL, params), 422, "validation_failed",
                        fields=[field])
    if field == "cursor":
        assert body["fields"]["cursor"] == [str(BAD_CURSOR)]
    if field == "created_to":
        assert body["fields"]["created_to"] == [str(DATE_RANGE_REVERSED)]


def test_extreme_dates_filter_without_failing(desk, agent, clock):
    client = api_client(agent)
    assert len(listed(client.get(URL, {"created_from": "0001-01-01", "created_to": "9999-12-31"}))) == 5


def test_keyset_pages_walk_the_whole_queue_once(agent, make_ticket, config, clock):
    made = [make_ticket(now=f"2026-11-{10 + i % 10} 1{i % 8}:00") for i in range(23)]
    Ticket.objects.filter(pk=made[0].pk).update(resolve_due_at=None)
    expected = list(Ticket.objects.by_deadline().values_list("pk", flat=True))
    client = api_client(agent)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        body = client.get(URL, params).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # A ticket created while paging does not shift the later pages.
        if pages == 2:
            make_ticket(now="2026-11-01 09:00")
    assert seen == expected
    assert seen[-1] == made[0].pk  # no deadline: last
    assert pages == 5


def test_the_cursor_round_trips(make_ticket, config):
    ticket = make_ticket()
    from kefu.tickets.api import decode_cursor

    assert decode_cursor(encode_cursor(ticket)) == (ticket.resolve_due_at, ticket.pk)
    ticket.resolve_due_at = None
    assert decode_cursor(encode_cursor(ticket)) == (None, ticket.pk)


def _make_tickets(make_ticket, dispatcher, agent, count):
    for i in range(count):
        t = make_ticket(now=f"2026-11-{10 + i % 14} 10:00")
        if i % 2:
            services.ticket_assign(actor=dispatcher, ticket=t, owner=agent)


@pytest.mark.parametrize("user", ["agent", "engineer"])
def test_the_list_query_budget_does_not_grow_with_the_page(
    request, make_ticket, dispatcher, agent, user, django_assert_max_num_queries
):
    client = api_client(request.getfixturevalue(user))
    client.get(URL)  # the token's last_used_at write happens once a minute, not per request
    counts = []
    for count in (5, 30):
        Ticket.objects.all().delete()
        _make_tickets(make_ticket, dispatcher, agent, count)
        client.get(URL)  # the per-process configuration cache, as in steady state
        # The token with its user and staff profile, the page, its customers; permissions and
        # regions are kept per process, owners and configuration too (joins cost PostgreSQL
        # more to plan than to run).
        with django_assert_max_num_queries(3) as captured:
            response = client.get(URL, {"limit": 100})
        assert len(response.json()["items"]) == count
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_an_engineer_lists_only_tickets_in_scope(engineer, other_region_engineer, desk):
    assert len(listed(api_client(engineer).get(URL))) == 5  # east customer: his region
    assert listed(api_client(other_region_engineer).get(URL)) == []


def test_a_department_scoped_agent_does_not_list_other_departments(agent, make_ticket, config):
    other = Department.objects.create(code="tech", name="技术支持")
    mine, theirs = make_ticket(), make_ticket()
    Ticket.objects.filter(pk=theirs.pk).update(department=other, created_by=None)
    assert listed(api_client(agent).get(URL)) == [mine.pk]
    assert_error(api_client(agent).get(f"{URL}/{theirs.pk}"), 404, "not_found")


# --- detail and timeline ---------------------------------------------------------------------

def test_the_detail_has_the_sla_the_version_and_the_latest_events(desk, agent, clock):
    ticket = desk["held"]
    response = api_client(agent).get(f"{URL}/{ticket.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "on_hold" and body["status_label"] == "挂起"
    assert body["version"] == ticket.version
    sla = body["sla"]
    assert sla["resolve_state"] == "paused" and sla["on_hold_since"]
    assert sla["response_state"] in ("paused", "overdue")
    assert {"resolve_due_at", "resolve_warn_at", "response_due_at", "breached_at", "warned_at",
            "paused_seconds", "policy", "first_responded_at"} <= set(sla)
    # The fixture assigned on the real clock and held on the business one: compare as a set.
    assert sorted(e["verb"] for e in body["last_events"]) == ["assigned", "created", "held"]
    held = next(e for e in body["last_events"] if e["verb"] == "held")
    assert held["summary"] == "挂起：等配件" and held["actor"]["name"] == "王丽"
    assert "resume" in body["actions"] and "hold" not in body["actions"]
    for clear in CLEAR_VALUES:
        assert clear not in as_text(response)


def test_ticket_answers_are_what_the_schema_gives(desk, agent, dispatcher, engineer, customer, clock):
    """Ticket answers are rendered from ``ticket_out`` (no ninja validation): for tickets in
    every state, with and without contact, asset, hand-off, compensation and first response,
    the JSON must equal what TicketOut validated from the same ticket renders."""
    import json

    from kefu.api import UtcJSONRenderer
    from kefu.tickets.api import TicketOut, _detail, ticket_out

    resolved = services.ticket_resolve(
        actor=agent, ticket=desk["overdue"], solution="更换搓纸轮", result="已修复",
        compensation_kind="coupon", compensation_amount="50.00")
    services.ticket_add_note(actor=agent, ticket=desk["soon"], text="已联系客户", customer_visible=True,
                             expected_completion_at=at("2026-11-26 10:00"))
    handed = services.ticket_handoff(actor=agent, ticket=desk["pool"], to=engineer, reason="需上门")
    with_refs = services.ticket_create(
        actor=agent, customer=customer, channel=desk["pool"].channel, subject="屏幕闪烁",
        ticket_type=desk["pool"].ticket_type, priority=desk["pool"].priority,
        contact=customer.contacts.get(), asset=customer.assets.get())
    render = UtcJSONRenderer().render
    tickets = [*desk.values(), resolved, handed, with_refs]
    for ticket in tickets:
        loaded = _detail(agent, ticket.pk)
        mine = json.loads(render(None, ticket_out(loaded), response_status=200))
        schema = TicketOut.model_validate(loaded).model_dump()
        theirs = json.loads(render(None, schema, response_status=200))
        assert mine == theirs, ticket.status
    kinds = {(t["status"], t["contact"] is None, t["handoff_to"] is None) for t in [
        json.loads(render(None, ticket_out(_detail(agent, t.pk)), response_status=200)) for t in tickets]}
    assert len(kinds) >= 5  # the cases differ


def test_a_resolved_tickets_sla_reads_met(desk, dispatcher, clock):
    body = api_client(dispatcher).get(f"{URL}/{desk['resolved'].pk}").json()
    assert body["sla"]["resolve_state"] in ("met", "missed")
    assert body["sla_state"] == body["sla"]["resolve_state"]


def test_the_timeline_lists_events_newest_first_with_the_customer_flag(make_ticket, agent, dispatcher):
    ticket = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    services.ticket_add_note(actor=agent, ticket=ticket, text="已远程查看", customer_visible=True,
                             expected_completion_at=at("2026-11-25 10:00"))
    services.ticket_add_note(actor=agent, ticket=ticket, text="内部：等配件")
    client = api_client(agent)
    events = client.get(f"{URL}/{ticket.pk}/events").json()
    assert [e["verb"] for e in events] == ["note", "note", "assigned", "created"]
    assert [e["customer_visible"] for e in events] == [False, True, False, False]
    assert datetime.datetime.fromisoformat(events[1]["expected_completion_at"]) == at("2026-11-25 10:00")
    synced = client.get(f"{URL}/{ticket.pk}/events", {"customer_visible": "true"}).json()
    assert [e["summary"] for e in synced] == ["已远程查看"]
    assert len(client.get(f"{URL}/{ticket.pk}/events", {"limit": 1}).json()) == 1


def test_reading_needs_a_token_and_the_view_permission(make_ticket, nobody):
    ticket = make_ticket()
    for path in (URL, f"{URL}/{ticket.pk}", f"{URL}/{ticket.pk}/events", f"{URL}/events"):
        assert_error(Client().get(path), 401, "unauthorized")
        assert_error(Client(headers={"Authorization": "Bearer kefu_wrong"}).get(path), 401,
                     "unauthorized")
        assert_error(api_client(nobody).get(path), 403, "permission_denied")


def test_a_ticket_outside_the_scope_is_a_404_like_a_missing_one(make_ticket, other_region_engineer):
    ticket = make_ticket()
    client = api_client(other_region_engineer)
    for path in (f"{URL}/{ticket.pk}", f"{URL}/{ticket.pk}/events", f"{URL}/99999999"):
        assert_error(client.get(path), 404, "not_found")
    response = patch(client, f"{URL}/{ticket.pk}", {"version": 1, "subject": "x"})
    assert_error(response, 404, "not_found")


def test_a_manager_reads_but_does_not_write(make_ticket, manager):
    ticket = make_ticket()
    client = api_client(manager)
    assert client.get(f"{URL}/{ticket.pk}").json()["actions"] == []
    assert_error(patch(client, f"{URL}/{ticket.pk}", {"version": 1, "subject": "x"}), 403,
                 "permission_denied")


# --- the event feed --------------------------------------------------------------------------

def test_the_feed_pages_through_visible_events_in_id_order(make_ticket, agent, dispatcher,
                                                           other_region_engineer):
    first = make_ticket()
    services.ticket_assign(actor=dispatcher, ticket=first, owner=agent)
    second = make_ticket()
    services.ticket_add_note(actor=agent, ticket=second, text="已回电", customer_visible=True)
    all_ids = list(TicketEvent.objects.order_by("pk").values_list("pk", flat=True))
    client = api_client(agent)
    page = client.get(f"{URL}/events", {"limit": 3}).json()
    assert [e["id"] for e in page["items"]] == all_ids[:3] and page["has_more"] is True
    assert page["next_after"] == all_ids[2]
    event = page["items"][1]
    assert event["ticket_id"] == first.pk and event["ticket_number"] == first.number
    assert event["verb"] == "assigned" and event["data"]["owner"] == agent.pk
    assert event["actor"]["name"] == "赵敏"
    rest = client.get(f"{URL}/events", {"after": page["next_after"], "limit": 3}).json()
    assert [e["id"] for e in rest["items"]] == all_ids[3:] and rest["has_more"] is False
    assert rest["items"][-1]["customer_visible"] is True
    # Nothing new yet: the same position comes back, ready for the next poll.
    empty = client.get(f"{URL}/events", {"after": rest["next_after"]}).json()
    assert empty == {"items": [], "next_after": all_ids[-1], "has_more": False}
    # Out-of-scope tickets' events are not in another user's feed.
    assert client.get(f"{URL}/events").json()["items"]
    assert api_client(other_region_engineer).get(f"{URL}/events").json()["items"] == []


def test_the_feed_is_each_users_scope_walked_in_id_order(make_ticket, agent, dispatcher, engineer,
                                                          other_region_engineer, config):
    """The feed's scope is a condition on the joined ticket (not ``ticket__in=<every visible
    ticket>``, which listed them all before finding the next event: 187 ms at 20,000 tickets),
    and must give exactly the events of the tickets ``visible_to`` gives."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other = Department.objects.create(code="tech", name="技术支持")
    for _ in range(3):
        services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)
    theirs = make_ticket()
    Ticket.objects.filter(pk=theirs.pk).update(department=other, created_by=None)
    for user in (agent, dispatcher, engineer, other_region_engineer):
        expected = list(TicketEvent.objects.filter(ticket__in=Ticket.objects.visible_to(user))
                        .order_by("pk").values_list("pk", flat=True))
        with CaptureQueriesContext(connection) as queries:
            body = api_client(user).get(f"{URL}/events", {"limit": 500}).json()
        assert [e["id"] for e in body["items"]] == expected, user.username
        feed_sql = next(q["sql"] for q in queries if "tickets_ticketevent" in q["sql"])
        assert "IN (SELECT" not in feed_sql.upper()
    assert any(e.ticket_id == theirs.pk for e in TicketEvent.objects.all())
    assert theirs.pk not in {e["ticket_id"] for e in api_client(agent).get(
        f"{URL}/events", {"limit": 500}).json()["items"]}


def test_feed_items_are_what_the_schema_gives(make_ticket, agent, dispatcher, engineer, clock):
    """Feed items are rendered from ``feed_event_out`` (no ninja validation): for events with
    and without an actor, data, customer visibility and an expected date, the JSON equals
    what FeedEventOut validated from the same event renders."""
    import json

    from kefu.api import UtcJSONRenderer
    from kefu.tickets.api import FeedEventOut, feed_event_out
    from kefu.tickets.queries import event_feed

    ticket = make_ticket()
    services.ticket_assign(actor=dispatcher, ticket=ticket, owner=agent)
    services.ticket_add_note(actor=agent, ticket=ticket, text="已联系客户", customer_visible=True,
                             expected_completion_at=at("2026-11-26 10:00"))
    TicketEvent.objects.create(ticket=ticket, actor=None, verb="sla_warned", summary="即将超时")
    events, _, _ = event_feed(dispatcher, 0, 100)
    render = UtcJSONRenderer().render
    kinds = set()
    for event in events:
        mine = json.loads(render(None, feed_event_out(event), response_status=200))
        theirs = json.loads(render(None, FeedEventOut.model_validate(event).model_dump(),
                                   response_status=200))
        assert mine == theirs, event.verb
        kinds.add((mine["actor"] is None, bool(mine["data"]), mine["customer_visible"],
                   mine["expected_completion_at"] is None))
    assert len(kinds) >= 3 and all(e["ticket_number"] == ticket.number for e in [
        feed_event_out(e) for e in events])


def test_a_scoped_feed_walks_events_in_bounded_steps(make_ticket, agent, dispatcher, engineer,
                                                     other_region_engineer, west_customer,
                                                     monkeypatch):
    """A scoped user's feed examines events in steps of (event id, ticket id) pairs and asks
    which of those tickets are in scope: no statement walks events with the ticket joined and
    its scope as the condition (a full pass over tickets on SQLite at 1M, 31 ms of planning on
    PostgreSQL). Each request examines at most FEED_BUDGET events; paging on from next_after
    still gives every visible event exactly once, and skipped events are not examined twice."""
    import re

    from django.test.utils import CaptureQueriesContext

    from kefu.tickets import queries

    monkeypatch.setattr(queries, "FEED_STEP", 4)
    monkeypatch.setattr(queries, "FEED_BUDGET", 6)
    for n in range(6):  # east (the engineer's region) and west tickets, their events interleaved
        ticket = make_ticket()
        if n % 2:
            Ticket.objects.filter(pk=ticket.pk).update(customer=west_customer)
        services.ticket_add_note(actor=agent, ticket=ticket, text=f"进展 {n}")
    last = TicketEvent.objects.order_by("pk").last().pk
    for user in (engineer, other_region_engineer):
        expected = list(TicketEvent.objects.filter(ticket__in=Ticket.objects.visible_to(user))
                        .order_by("pk").values_list("pk", flat=True))
        assert 0 < len(expected) < TicketEvent.objects.count()
        client, seen, after, requests = api_client(user), [], 0, 0
        while True:
            with CaptureQueriesContext(connection) as queries_sent:
                page = client.get(f"{URL}/events", {"after": after, "limit": 2}).json()
            requests += 1
            for sql in (q["sql"] for q in queries_sent if "tickets_ticketevent" in q["sql"]):
                assert not re.search(r'"tickets_ticket"\."(owner_id|created_by_id|department_id)" =',
                                     sql), sql
            # The budget bounds a request: at most 6 events examined, in steps of 3 then 4.
            assert len([q for q in queries_sent if '"tickets_ticketevent"."id" >' in q["sql"]]) <= 2
            assert len(page["items"]) <= 2 and page["next_after"] >= after
            seen += [e["id"] for e in page["items"]]
            after = page["next_after"]
            if not page["has_more"]:
                break
        assert seen == expected, user.username
        assert after == last  # the invisible tail is not examined again on the next poll
        assert requests <= len(expected) // 2 + 12 // 6 + 1
    empty = api_client(other_region_engineer).get(f"{URL}/events", {"after": last}).json()
    assert empty == {"items": [], "next_after": last, "has_more": False}


def test_the_feed_refuses_bad_positions(agent, config):
    client = api_client(agent)
    assert_error(client.get(f"{URL}/events", {"after": -1}), 422, "validation_failed", ["after"])
    assert_error(client.get(f"{URL}/events", {"limit": 501}), 422, "validation_failed", ["limit"])


# --- update ----------------------------------------------------------------------------------

def test_patch_changes_the_intake_fields_and_keeps_the_deadlines(make_ticket, agent, config,
                                                                 department):
    ticket = make_ticket()
    due = ticket.resolve_due_at
    response = patch(api_client(agent), f"{URL}/{ticket.pk}", {
        "version": 1, "subject": "打印机不进纸", "priority": "urgent", "ticket_type": "consult",
        "department": "cs", "service_mode": "remote", "environment": "Win10",
        "error_shown": "E-05", "description": "换纸后仍然报错",
        "customer_expects_at": "2026-11-26T12:00:00+08:00",
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2
    assert body["subject"] == "打印机不进纸" and body["priority"]["code"] == "urgent"
    assert body["ticket_type"]["code"] == "consult" and body["department"]["code"] == "cs"
    assert body["service_mode"]["code"] == "remote"
    ticket.refresh_from_db()
    assert ticket.resolve_due_at == due  # a priority edit here recomputes nothing
    event = ticket.events.first()
    assert event.verb == "updated"
    assert set(event.data["fields"]) == {"subject", "priority", "ticket_type", "department",
                                         "service_mode", "environment", "error_shown",
                                         "description", "customer_expects_at"}
    assert "问题摘要" in event.summary
    assert ticket.history.first().history_user == agent


def test_patch_null_clears_the_optional_references(make_ticket, agent, department):
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(department=department)
    body = patch(api_client(agent), f"{URL}/{ticket.pk}",
                 {"version": 1, "department": None, "customer_expects_at": None}).json()
    assert body["department"] is None


def test_a_patch_that_changes_nothing_keeps_the_version(make_ticket, agent):
    ticket = make_ticket()
    body = patch(api_client(agent), f"{URL}/{ticket.pk}",
                 {"version": 1, "subject": ticket.subject}).json()
    assert body["version"] == 1
    assert not ticket.events.filter(verb="updated").exists()


def test_a_stale_version_is_a_409_and_changes_nothing(make_ticket, agent):
    ticket = make_ticket()
    client = api_client(agent)
    assert patch(client, f"{URL}/{ticket.pk}", {"version": 1, "subject": "第一次"}).status_code == 200
    response = patch(client, f"{URL}/{ticket.pk}", {"version": 1, "subject": "第二次", "priority": "low"})
    body = assert_error(response, 409, "conflict")
    assert body["message"] == str(STALE_VERSION) % {"current": 2, "given": 1}
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.priority.code, ticket.version) == ("第一次", "normal", 2)


@pytest.mark.parametrize(("data", "field"), [
    ({"subject": "x"}, "version"),
    ({"version": 1, "subject": ""}, "subject"),
    ({"version": 1, "subject": "  "}, "subject"),
    ({"version": 1, "priority": None}, "priority"),
    ({"version": 1, "priority": "soon"}, "priority"),
    ({"version": 1, "department": "nowhere"}, "department"),
    ({"version": 1, "status": "closed"}, "status"),
    ({"version": 1, "resolve_due_at": "2030-01-01T00:00:00"}, "resolve_due_at"),
    ({"version": 0}, "version"),
    ({"version": 1, "customer_expects_at": "9999-12-31T23:59:59"}, "customer_expects_at"),
    ({"version": 1, "description": "a\x00b"}, "description"),
])
def test_bad_patches_are_a_422(make_ticket, agent, data, field):
    ticket = make_ticket()
    response = patch(api_client(agent), f"{URL}/{ticket.pk}", data)
    assert_error(response, 422, "validation_failed", fields=[field])
    ticket.refresh_from_db()
    assert ticket.version == 1


def test_a_closed_ticket_is_not_edited(make_ticket, agent):
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    response = patch(api_client(agent), f"{URL}/{ticket.pk}", {"version": 1, "subject": "改"})
    body = assert_error(response, 409, "invalid_transition")
    assert ticket.number in body["message"]
    assert Ticket.objects.get(pk=ticket.pk).subject == "打印机卡纸"


def test_the_update_service_refuses_fields_it_does_not_edit(make_ticket, agent):
    from kefu.core.errors import ValidationFailed

    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_update(actor=agent, ticket=ticket, version=1, status="closed")
    assert "status" in caught.value.fields


def test_an_engineer_in_scope_may_edit(make_ticket, engineer):
    ticket = make_ticket()
    response = patch(api_client(engineer), f"{URL}/{ticket.pk}",
                     {"version": 1, "environment": "现场：三楼机房"})
    assert response.status_code == 200
    assert response.json()["environment"] == "现场：三楼机房"


def test_openapi_lists_the_ticket_operations(agent):
    document = Client().get("/api/openapi.json").json()
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {"tickets_list", "tickets_create", "tickets_detail", "tickets_update", "tickets_events",
            "tickets_events_feed", "tickets_assign", "tickets_resolve", "tickets_notes"} <= operations


def test_dates_in_answers_are_local_time(make_ticket, agent):
    ticket = make_ticket(now="2026-11-23 10:00")
    body = api_client(agent).get(f"{URL}/{ticket.pk}").json()
    assert datetime.datetime.fromisoformat(body["created_at"]) == at("2026-11-23 10:00")
