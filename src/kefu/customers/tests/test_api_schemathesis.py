"""Fuzz the WHOLE API from its own OpenAPI document (schemathesis + hypothesis).

Every operation the document lists is fuzzed (customers, assets, tickets and whatever router is
mounted next): whatever a client sends, valid or not, the API answers below 500, every error has
the ``{"code", "message", "fields"}`` shape, and nothing but ``reveal`` shows a clear phone or ID
number. Half the generated cases aim at the real customer, asset, ticket, staff member, codes and
current version, so the fuzzed bodies reach the services instead of stopping at 404, 409 or an
unknown code.

Requests go through Django's test client, not schemathesis' WSGI transport: the client keeps
the test's database transaction open between calls (a bare WSGI call closes the connection at
``request_finished``), which is what lets this run on SQLite and PostgreSQL alike.
"""

import json
from urllib.parse import urlencode, urlsplit

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from kefu.accounts.services import token_create
from kefu.api import api
from kefu.customers.models import Asset, Customer
from kefu.tickets import services as ticket_services
from kefu.tickets.models import Channel, Priority, Ticket, TicketType

pytestmark = pytest.mark.django_db

# Small enough that the whole API (30-odd operations) is fuzzed in well under a minute.
MAX_EXAMPLES = 15
METHODS = {"get", "post", "put", "patch", "delete"}
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in api.get_openapi_schema()["paths"].items()
    for method in item if method in METHODS
)
CLEAR_VALUES = ("13812345678", "110101199001011234")
# Body fields aimed at a real row or code (a fuzzed id or code would only ever be unknown).
CODES = {"channel": "phone", "ticket_type": "fault", "priority": "normal"}


@pytest.fixture
def api_schema(db):
    document = json.loads(Client().get("/api/openapi.json").content)
    return schemathesis.openapi.from_dict(document)


@pytest.fixture
def rows(customer, dispatcher, agent, working_calendar):
    ticket = ticket_services.ticket_create(
        actor=dispatcher, customer=customer, channel=Channel.objects.get(code="phone"),
        ticket_type=TicketType.objects.get(code="fault"), priority=Priority.objects.get(code="normal"),
        subject="打印机卡纸",
    )
    return {"customer": customer, "asset": customer.assets.get(), "ticket": ticket,
            "contact": customer.contacts.get(), "staff": agent}


def _current_version(case, rows):
    if "ticket_id" in case.path_parameters:
        row = Ticket.objects.filter(pk=rows["ticket"].pk).first()
    elif "asset_id" in case.path_parameters:
        row = Asset.objects.filter(pk=rows["asset"].pk).first()
    else:
        row = Customer.objects.filter(pk=rows["customer"].pk).first()
    return row.version if row else 1


def _aim_at_real_rows(case, rows):
    for name in ("customer_id", "asset_id", "ticket_id"):
        if name in case.path_parameters:
            case.path_parameters[name] = rows[name.removesuffix("_id")].pk
    if not isinstance(case.body, dict):
        return
    if "version" in case.body:
        case.body["version"] = _current_version(case, rows)
    for name, row in (("customer_id", "customer"), ("contact_id", "contact"),
                      ("owner_id", "staff"), ("to_id", "staff")):
        if name in case.body:
            case.body[name] = rows[row].pk
    if "asset_id" in case.body and "ticket_id" not in case.path_parameters:
        case.body["asset_id"] = rows["asset"].pk
    for name, code in CODES.items():
        if name in case.body:
            case.body[name] = code


def _send(client, case, token):
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    query = urlencode(kwargs.get("params") or {}, doseq=True)
    url = urlsplit(kwargs["url"])._replace(query=query).geturl()
    # Negative cases may carry a body that is not JSON at all: it is sent as it is.
    body = json.dumps(kwargs["json"]) if "json" in kwargs else kwargs.get("data") or b""
    content_type = kwargs["headers"].get("Content-Type", "application/json")
    headers = {k: v for k, v in kwargs["headers"].items()
               if k.lower() not in ("content-type", "authorization", "content-length")}
    return client.generic(case.method, url, data=body, content_type=content_type,
                          headers={**headers, "Authorization": f"Bearer {token}"})


def test_the_whole_api_is_fuzzed():
    paths = {path for _method, path in OPERATIONS}
    assert any(p.startswith("/api/v1/customers") for p in paths)
    assert any(p.startswith("/api/v1/tickets") for p in paths)
    assert len(OPERATIONS) >= 30


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_input_makes_the_api_fail(api_schema, dispatcher, rows, method, path):
    operation = api_schema[path][method]
    _row, token = token_create(user=dispatcher, name="fuzz")
    client = Client()
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases, aim=st.booleans())
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
            HealthCheck.filter_too_much, HealthCheck.data_too_large,
        ],
    )
    def check(case, aim):
        if aim:
            _aim_at_real_rows(case, rows)
        response = _send(client, case, token)
        where = f"{case.method} {case.formatted_path} {case.query!r} {case.headers!r} {case.body!r}"
        assert response.status_code < 500, (where, response.content[:500])
        body = response.json()
        if response.status_code >= 400:
            assert isinstance(body, dict) and set(body) == {"code", "message", "fields"}, (
                where, body,
            )
        elif method != "POST" or not path.endswith("/reveal"):
            text = response.content.decode()
            assert not any(value in text for value in CLEAR_VALUES), (where, text[:500])

    check()
