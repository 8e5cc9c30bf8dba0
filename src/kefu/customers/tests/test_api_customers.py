"""/api/v1/customers: list, detail, create, update, phones, reveal, the error shape, OpenAPI."""

import json

import pytest
from django.test import Client

from kefu.accounts.services import token_create
from kefu.core.access import REASON_REQUIRED
from kefu.core.errors import Conflict
from kefu.core.models import AccessLog
from kefu.customers import services
from kefu.customers.api import BAD_CURSOR, UNKNOWN_REGION, encode_cursor
from kefu.customers.models import Customer, CustomerEvent, Phone
from kefu.customers.services import NAME_REQUIRED, NUMBER_TAKEN, STALE_VERSION

pytestmark = pytest.mark.django_db



URL = "/api/v1/customers"
CLEAR_VALUES = ["13812345678", "110101199001011234", "世纪大道", "张三明"]


def api_client(user):
    _row, raw = token_create(user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def as_text(response):
    """The body both as sent (JSON escapes non-ASCII) and decoded, for 'not in' checks."""
    return response.content.decode() + json.dumps(response.json(), ensure_ascii=False)


def assert_error(response, status, code, fields=()):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert body["message"]
    for name in fields:
        assert body["fields"].get(name), body
    return body


def post(client, url, data):
    return client.post(url, data=data, content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data=data, content_type="application/json")


# --- list ------------------------------------------------------------------------------------

def test_it_lists_customers_newest_first_with_masked_data(agent, customer, west_customer):
    response = api_client(agent).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [west_customer.pk, customer.pk]
    assert body["next_cursor"] is None
    item = body["items"][1]
    assert item["number"] == customer.number
    assert item["display_name"] == "张*明"
    assert item["kind"] == "vip" and item["kind_label"] == "VIP 客户"
    assert item["region"] == {"code": "east", "name": "华东片区"}
    assert item["tags"] == ["学校"]
    assert [p["masked"] for p in item["phones"]] == ["138****5678"]
    assert item["version"] == 1
    for clear in CLEAR_VALUES:
        assert clear not in as_text(response)


def test_an_engineer_lists_only_their_region(engineer, customer, west_customer):
    body = api_client(engineer).get(URL).json()
    assert [item["id"] for item in body["items"]] == [customer.pk]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "13812345678"}, ["customer"]),
        ({"q": "138 1234 5678"}, ["customer"]),
        ({"q": "110101199001011234"}, ["customer"]),
        ({"q": "LFX123456789"}, ["customer"]),
        ({"q": "成都"}, ["west"]),
        ({"region": "west"}, ["west"]),
        ({"region": "nowhere"}, []),
        ({"kind": "vip"}, ["customer"]),
        ({"party_type": "organisation"}, ["west"]),
        ({"tag": "学校"}, ["customer"]),
        ({"serial": "lfx123456789"}, ["customer"]),
        ({"phone": "+86 138-1234-5678"}, ["customer"]),
        ({"phone": "028 87654321"}, ["west"]),
        ({"name": "七中"}, ["west"]),
        ({"kind": "major", "region": "east"}, []),
    ],
)
def test_it_filters(agent, customer, west_customer, params, expected):
    names = {"customer": customer.pk, "west": west_customer.pk}
    response = api_client(agent).get(URL, params)
    assert response.status_code == 200, response.content
    assert [item["id"] for item in response.json()["items"]] == [names[n] for n in expected]


def test_it_filters_by_number_and_creation_date(agent, customer, west_customer):
    client = api_client(agent)
    by_number = client.get(URL, {"number": customer.number}).json()["items"]
    assert [item["id"] for item in by_number] == [customer.pk]
    today = customer.created_at.astimezone().date().isoformat()
    assert len(client.get(URL, {"created_from": today, "created_to": today}).json()["items"]) == 2
    assert client.get(URL, {"created_from": "2999-01-01"}).json()["items"] == []
    assert client.get(URL, {"created_to": "2000-01-01"}).json()["items"] == []


def test_it_filters_by_plate(agent, customer):
    services.asset_create(actor=agent, customer=customer, product_model="大众帕萨特", plate="沪A 12345")
    items = api_client(agent).get(URL, {"plate": "沪a12345"}).json()["items"]
    assert [item["id"] for item in items] == [customer.pk]


def test_an_unreadable_phone_filter_is_a_422_on_the_phone_field(agent, customer):
    assert_error(api_client(agent).get(URL, {"phone": "not a phone"}), 422, "validation_failed",
                 ["phone"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "张\x00"}, "q"),
        ({"name": "\x00"}, "name"),
        ({"tag": "a\x00b"}, "tag"),
        ({"q": "查" * 101}, "q"),
        ({"created_from": "2025-13-01"}, "created_from"),
    ],
)
def test_hostile_query_parameters_are_a_422(agent, customer, params, field):
    assert_error(api_client(agent).get(URL, params), 422, "validation_failed", [field])


def test_an_unknown_kind_is_a_422(agent):
    assert_error(api_client(agent).get(URL, {"kind": "alien"}), 422, "validation_failed", ["kind"])


def test_it_pages_with_an_opaque_cursor(agent, regions):
    ids = [
        services.customer_create(actor=agent, name=f"客户{i:02d}", region=regions["east"]).pk
        for i in range(23)
    ]
    client = api_client(agent)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        body = client.get(URL, params).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert not cursor.isdigit()  # opaque, not a bare id
    assert pages == 3
    assert seen == sorted(ids, reverse=True)


def test_the_cursor_continues_after_the_last_id(agent, customer, west_customer):
    body = api_client(agent).get(URL, {"cursor": encode_cursor(west_customer.pk)}).json()
    assert [item["id"] for item in body["items"]] == [customer.pk]


# "!!!" not base64, "MTIz=" bad padding, "abc" not ASCII digits, "LTE" is -1, "MA" is 0, the
# last one is 99999999999999999999 (beyond bigint).
@pytest.mark.parametrize("cursor", ["!!!", "MTIz=", "abc", "LTE", "MA", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_a_malformed_cursor_is_a_422_not_a_500(agent, customer, cursor):
    body = assert_error(api_client(agent).get(URL, {"cursor": cursor}), 422, "validation_failed",
                        ["cursor"])
    assert body["fields"]["cursor"] == [str(BAD_CURSOR)]


def test_an_overlong_cursor_is_a_422(agent):
    assert_error(api_client(agent).get(URL, {"cursor": "x" * 40}), 422, "validation_failed",
                 ["cursor"])


@pytest.mark.parametrize("limit", [0, 101, -1, "ten"])
def test_limit_is_bounded(agent, limit):
    assert_error(api_client(agent).get(URL, {"limit": limit}), 422, "validation_failed", ["limit"])


def _make_customers(actor, regions, count):
    for i in range(count):
        c = services.customer_create(
            actor=actor, name=f"预算客户{i}", region=regions["east" if i % 2 else "west"],
            phones=[f"139{i:08d}"], tags=["学校", f"标签{i % 3}"],
        )
        services.asset_create(actor=actor, customer=c, product_model="EPSON L3150")


def test_the_list_query_budget_does_not_grow_with_the_page(
    agent, regions, django_assert_max_num_queries
):
    client = api_client(agent)
    client.get(URL)  # the token's last_used_at write happens once a minute, not per request
    counts = []
    for count in (5, 40):
        Customer.objects.all().delete()
        _make_customers(agent, regions, count)
        with django_assert_max_num_queries(7) as captured:
            response = client.get(URL, {"limit": 100})
        assert len(response.json()["items"]) == count
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_an_engineers_list_has_the_same_budget(engineer, agent, regions,
                                               django_assert_max_num_queries):
    _make_customers(agent, regions, 30)
    client = api_client(engineer)
    client.get(URL)
    with django_assert_max_num_queries(8):
        response = client.get(URL, {"limit": 100})
    assert len(response.json()["items"]) == 15


# --- detail ----------------------------------------------------------------------------------

def test_the_detail_shows_masked_personal_data_only(agent, customer):
    response = api_client(agent).get(f"{URL}/{customer.pk}")
    assert response.status_code == 200
    body = response.json()
    phone = customer.phones.get()
    assert body["display_name"] == "张*明"
    assert body["phones"] == [
        {"id": phone.pk, "masked": "138****5678", "label": "mobile", "contact_id": phone.contact_id}
    ]
    assert body["id_number_masked"] == "110***********1234"
    assert [a["masked"] for a in body["addresses"]] == ["上海市浦东新****"]
    assert [(c["name_masked"], c["is_primary"]) for c in body["contacts"]] == [("张*明", True)]
    assert body["tags"] == ["学校"]
    assert body["region"] == {"code": "east", "name": "华东片区"}
    assert body["version"] == 1
    (asset,) = body["assets"]
    assert (asset["product_model"], asset["serial"], asset["warranty_status"]) == (
        "EPSON L3150", "LFX123456789", "in",
    )
    text = as_text(response)
    for clear in CLEAR_VALUES + ["1990-01-01", "上海市浦东新区"]:
        assert clear not in text


def test_an_organisation_keeps_its_name(agent, west_customer):
    body = api_client(agent).get(f"{URL}/{west_customer.pk}").json()
    assert body["display_name"] == "成都七中"
    assert body["party_type"] == "organisation"


def test_the_detail_has_a_query_budget(agent, customer, django_assert_max_num_queries):
    client = api_client(agent)
    client.get(f"{URL}/{customer.pk}")
    with django_assert_max_num_queries(10):
        assert client.get(f"{URL}/{customer.pk}").status_code == 200


def test_an_unknown_customer_is_a_404(agent):
    assert_error(api_client(agent).get(f"{URL}/999999"), 404, "not_found")


@pytest.mark.parametrize("bad_id", ["abc", "0", "-5", str(2**70)])
def test_a_bad_id_is_a_422_not_a_500(agent, bad_id):
    assert_error(api_client(agent).get(f"{URL}/{bad_id}"), 422, "validation_failed", ["customer_id"])


# --- create ----------------------------------------------------------------------------------

def test_it_creates_a_customer(agent, regions):
    payload = {
        "name": "李四", "kind": "contract", "region": "west", "birthday": "1985-06-01",
        "id_number": "510104198506011234", "notes": "合同客户", "tags": ["医院", "医院"],
        "phones": ["13900001111"], "addresses": ["四川省成都市武侯区科华北路1号"],
        "contacts": [{"name": "王五", "role": "设备科", "phones": ["028-1234 5678"],
                      "is_primary": True}],
    }
    response = post(api_client(agent), URL, payload)
    assert response.status_code == 201, response.content
    body = response.json()
    created = Customer.objects.get(pk=body["id"])
    assert created.name == "李四" and created.region == regions["west"]
    assert created.created_by == agent
    assert created.number.startswith("KH")
    assert sorted(p.number for p in created.phones.all()) == ["02812345678", "13900001111"]
    assert created.contacts.get().phones.get().number == "02812345678"
    assert body["display_name"] == "李*"
    assert body["tags"] == ["医院"]
    assert body["birthday_month_day"] == "06-01"
    assert sorted(p["masked"] for p in body["phones"]) == ["028****5678", "139****1111"]
    assert CustomerEvent.objects.filter(customer=created, verb="created").exists()
    for clear in ["13900001111", "510104198506011234", "科华北路", "1985"]:
        assert clear not in as_text(response)


def test_it_takes_a_given_number(agent):
    response = post(api_client(agent), URL, {"name": "成都某公司", "party_type": "organisation",
                                             "number": "KH-OLD-0001"})
    assert response.status_code == 201
    assert response.json()["number"] == "KH-OLD-0001"
    body = assert_error(post(api_client(agent), URL, {"name": "另一家", "number": "KH-OLD-0001"}),
                        422, "validation_failed", ["number"])
    assert body["fields"]["number"] == [str(NUMBER_TAKEN)]
    assert Customer.objects.count() == 1


def test_a_missing_name_is_a_422_with_fields(agent):
    body = assert_error(post(api_client(agent), URL, {"kind": "vip"}), 422, "validation_failed",
                        ["name"])
    assert body["fields"]["name"] == ["必填。"]
    assert not Customer.objects.exists()


def test_a_blank_name_is_refused_by_the_service(agent):
    body = assert_error(post(api_client(agent), URL, {"name": "   "}), 422, "validation_failed",
                        ["name"])
    assert body["fields"]["name"] == [str(NAME_REQUIRED)]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "李四", "phones": ["12"]}, "phones"),
        ({"name": "李四", "region": "mars"}, "region"),
        ({"name": "李四", "id_number": "12-34"}, "id_number"),
        ({"name": "李四", "kind": "alien"}, "kind"),
        ({"name": "李四", "birthday": "2999-01-01"}, "birthday"),
        ({"name": "李四", "birthday": "yesterday"}, "birthday"),
        ({"name": "李" * 129}, "name"),
        ({"name": "李\x00四"}, "name"),
        ({"name": "李四", "surprise": 1}, "surprise"),
        ({"name": "李四", "contacts": [{"role": "科长"}]}, "contacts.0.name"),
    ],
)
def test_invalid_input_is_a_422_naming_the_field(agent, payload, field):
    assert_error(post(api_client(agent), URL, payload), 422, "validation_failed", [field])
    assert not Customer.objects.exists()


def test_an_unknown_region_message_is_the_constant(agent):
    body = post(api_client(agent), URL, {"name": "李四", "region": "mars"}).json()
    assert body["fields"]["region"] == [str(UNKNOWN_REGION)]


def test_a_body_that_is_not_json_is_a_400_with_the_shape(agent):
    response = api_client(agent).post(URL, data="{name: 1", content_type="application/json")
    assert_error(response, 400, "bad_request")


# --- update ----------------------------------------------------------------------------------

def test_it_updates_the_profile_and_bumps_the_version(agent, customer, regions):
    response = patch(api_client(agent), f"{URL}/{customer.pk}",
                     {"version": 1, "kind": "major", "region": "west", "tags": ["医院"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["region"]["code"], body["tags"], body["version"]) == (
        "major", "west", ["医院"], 2,
    )
    customer.refresh_from_db()
    assert (customer.kind, customer.region, customer.version) == ("major", regions["west"], 2)
    assert CustomerEvent.objects.filter(customer=customer, verb="updated").exists()


def test_null_clears_region_and_birthday(agent, customer):
    response = patch(api_client(agent), f"{URL}/{customer.pk}",
                     {"version": 1, "region": None, "birthday": None})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.region is None


def test_a_stale_version_is_a_409_conflict(agent, customer):
    services.customer_update(actor=agent, customer=customer, version=1, notes="别人先改了")
    response = patch(api_client(agent), f"{URL}/{customer.pk}", {"version": 1, "notes": "我的修改"})
    body = assert_error(response, 409, "conflict")
    assert body["message"] == str(STALE_VERSION) % {"current": 2, "given": 1}
    assert Conflict.code == body["code"]
    customer.refresh_from_db()
    assert customer.notes == "别人先改了"


def test_the_version_is_required(agent, customer):
    assert_error(patch(api_client(agent), f"{URL}/{customer.pk}", {"notes": "x"}), 422,
                 "validation_failed", ["version"])


@pytest.mark.parametrize("field", ["number", "created_by", "id"])
def test_only_profile_fields_can_be_changed(agent, customer, field):
    assert_error(patch(api_client(agent), f"{URL}/{customer.pk}", {"version": 1, field: "KH1"}),
                 422, "validation_failed", [field])
    customer.refresh_from_db()
    assert customer.version == 1


def test_a_null_name_is_refused(agent, customer):
    assert_error(patch(api_client(agent), f"{URL}/{customer.pk}", {"version": 1, "name": None}),
                 422, "validation_failed", ["name"])


# --- phones ----------------------------------------------------------------------------------

def test_it_adds_a_phone(agent, customer):
    response = post(api_client(agent), f"{URL}/{customer.pk}/phones",
                    {"number": "021-6888 1234", "label": "work"})
    assert response.status_code == 201, response.content
    body = response.json()
    phone = Phone.objects.get(pk=body["id"])
    assert (phone.number, phone.label, phone.customer) == ("02168881234", "work", customer)
    assert body == {"id": phone.pk, "masked": "021****1234", "label": "work", "contact_id": None}


def test_a_phone_can_belong_to_a_contact(agent, customer):
    contact = customer.contacts.get()
    response = post(api_client(agent), f"{URL}/{customer.pk}/phones",
                    {"number": "13700001234", "contact_id": contact.pk})
    assert response.status_code == 201
    assert Phone.objects.get(pk=response.json()["id"]).contact == contact


def test_a_contact_of_another_customer_is_refused(agent, customer, west_customer):
    other = services.customer_add_contact(actor=agent, customer=west_customer, name="赵六")
    assert_error(post(api_client(agent), f"{URL}/{customer.pk}/phones",
                      {"number": "13700001234", "contact_id": other.pk}),
                 422, "validation_failed", ["contact_id"])


@pytest.mark.parametrize(("number", "field"), [("13812345678", "number"), ("abc", "number"),
                                               ("", "number")])
def test_a_duplicate_or_invalid_phone_is_a_422(agent, customer, number, field):
    assert_error(post(api_client(agent), f"{URL}/{customer.pk}/phones", {"number": number}),
                 422, "validation_failed", [field])
    assert customer.phones.count() == 1


# --- reveal ----------------------------------------------------------------------------------

def test_reveal_returns_the_clear_value_and_logs_it_with_channel_api(agent, customer):
    phone = customer.phones.get()
    response = post(api_client(agent), f"{URL}/{customer.pk}/reveal",
                    {"field": "phone", "item_id": phone.pk, "reason": "callback"})
    assert response.status_code == 200, response.content
    assert response.json() == {"field": "phone", "value": "13812345678"}
    log = AccessLog.objects.get()
    assert (log.user, log.object_id, log.field, log.channel, log.reason) == (
        agent, str(customer.pk), f"phone#{phone.pk}", "api", "回访/回电客户",
    )
    assert log.ip_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("field", "item", "value"),
    [
        ("id_number", None, "110101199001011234"),
        ("name", None, "张三明"),
        ("address", "addresses", "上海市浦东新区世纪大道100号"),
        ("contact_name", "contacts", "张三明"),
    ],
)
def test_reveal_other_fields(agent, customer, field, item, value):
    payload = {"field": field, "reason": "客户来电核对"}
    if item:
        payload["item_id"] = getattr(customer, item).get().pk
    response = post(api_client(agent), f"{URL}/{customer.pk}/reveal", payload)
    assert response.status_code == 200, response.content
    assert response.json()["value"] == value
    assert AccessLog.objects.get().channel == "api"


def test_a_manager_cannot_reveal(manager, customer):
    assert_error(post(api_client(manager), f"{URL}/{customer.pk}/reveal",
                      {"field": "id_number", "reason": "verify"}), 403, "permission_denied")
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize("payload", [{"field": "id_number"}, {"field": "id_number", "reason": ""}])
def test_reveal_without_a_reason_is_a_422(agent, customer, payload):
    assert_error(post(api_client(agent), f"{URL}/{customer.pk}/reveal", payload), 422,
                 "validation_failed", ["reason"])
    assert not AccessLog.objects.exists()


def test_a_blank_reason_gets_the_services_message(agent, customer):
    body = assert_error(post(api_client(agent), f"{URL}/{customer.pk}/reveal",
                             {"field": "id_number", "reason": "   "}), 422, "validation_failed",
                        ["reason"])
    assert body["fields"]["reason"] == [str(REASON_REQUIRED)]


def test_reveal_of_an_item_needs_the_item_id(agent, customer):
    assert_error(post(api_client(agent), f"{URL}/{customer.pk}/reveal",
                      {"field": "phone", "reason": "callback"}), 422, "validation_failed",
                 ["item_id"])


def test_reveal_of_another_customers_phone_is_a_404(agent, customer, west_customer):
    other_phone = west_customer.phones.get()
    assert_error(post(api_client(agent), f"{URL}/{customer.pk}/reveal",
                      {"field": "phone", "item_id": other_phone.pk, "reason": "callback"}),
                 404, "not_found")
    assert not AccessLog.objects.exists()


def test_reveal_of_an_unknown_field_is_a_422(agent, customer):
    assert_error(post(api_client(agent), f"{URL}/{customer.pk}/reveal",
                      {"field": "password", "reason": "callback"}), 422, "validation_failed",
                 ["field"])


# --- auth, error shape, OpenAPI --------------------------------------------------------------

def test_a_logged_in_browser_can_use_the_api(agent, customer):
    client = Client()
    client.force_login(agent)
    assert client.get(URL).status_code == 200


def test_a_browser_write_needs_the_csrf_token(agent, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    response = post(client, f"{URL}/{customer.pk}/phones", {"number": "13700001234"})
    assert_error(response, 403, "permission_denied")
    assert customer.phones.count() == 1


def test_a_browser_write_with_the_csrf_token_works(agent, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    secret = "k" * 32
    client.cookies["csrftoken"] = secret
    response = client.post(f"{URL}/{customer.pk}/phones", data={"number": "13700001234"},
                           content_type="application/json", headers={"X-CSRFToken": secret})
    assert response.status_code == 201, response.content
    assert customer.phones.count() == 2


def test_without_a_token_or_session_it_is_401_also_for_writes(customer):
    client = Client(enforce_csrf_checks=True)
    assert_error(client.get(URL), 401, "unauthorized")
    assert_error(post(client, URL, {"name": "李四"}), 401, "unauthorized")
    assert Customer.objects.count() == 1


def test_a_wrong_method_is_a_405_with_the_shape(agent, customer):
    response = api_client(agent).put(f"{URL}/{customer.pk}", data="{}",
                                     content_type="application/json")
    assert_error(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}


def test_an_unknown_api_path_is_a_404_with_the_shape(agent):
    assert_error(api_client(agent).get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(Client().post("/api/v1/nothing-here"), 404, "not_found")


def test_openapi_lists_the_customer_paths(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert {
        "/api/v1/customers", "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/phones", "/api/v1/customers/{customer_id}/reveal",
        "/api/v1/customers/{customer_id}/assets",
        "/api/v1/customers/{customer_id}/assets/{asset_id}",
    } <= set(paths)
    operation_ids = {op["operationId"] for item in paths.values() for op in item.values()}
    assert {
        "customers_list", "customers_detail", "customers_create", "customers_update",
        "customers_add_phone", "customers_reveal", "customers_assets_list",
        "customers_assets_create", "customers_assets_update",
    } <= operation_ids
    assert paths["/api/v1/customers"]["get"]["summary"].startswith("客户列表")
    assert "409" in paths["/api/v1/customers/{customer_id}"]["patch"]["responses"]


def test_the_docs_page_renders(agent):
    client = Client()
    client.force_login(agent)
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
