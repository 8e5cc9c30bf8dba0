"""Fuzz the customer endpoints from their own OpenAPI document (schemathesis + hypothesis).

Whatever a client sends, valid or not, the API answers below 500, every error has the
``{"code", "message", "fields"}`` shape, and nothing but ``reveal`` shows a clear phone or ID
number. Half the generated cases aim at the real customer, asset and current version, so the
fuzzed bodies reach the services instead of stopping at 404 or 409.

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
from kefu.customers.models import Asset, Customer

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 40
OPERATIONS = [
    ("GET", "/api/v1/customers"),
    ("POST", "/api/v1/customers"),
    ("GET", "/api/v1/customers/{customer_id}"),
    ("PATCH", "/api/v1/customers/{customer_id}"),
    ("POST", "/api/v1/customers/{customer_id}/phones"),
    ("POST", "/api/v1/customers/{customer_id}/reveal"),
    ("GET", "/api/v1/customers/{customer_id}/assets"),
    ("POST", "/api/v1/customers/{customer_id}/assets"),
    ("PATCH", "/api/v1/customers/{customer_id}/assets/{asset_id}"),
]
CLEAR_VALUES = ("13812345678", "110101199001011234")



@pytest.fixture
def api_schema(db):
    document = json.loads(Client().get("/api/openapi.json").content)
    return schemathesis.openapi.from_dict(document)


def _aim_at_real_rows(case, customer, asset):
    if "customer_id" in case.path_parameters:
        case.path_parameters["customer_id"] = customer.pk
    if "asset_id" in case.path_parameters:
        case.path_parameters["asset_id"] = asset.pk
    if isinstance(case.body, dict) and "version" in case.body:
        model = Asset if "asset_id" in case.path_parameters else Customer
        row = model.objects.filter(pk=asset.pk if model is Asset else customer.pk).first()
        case.body["version"] = row.version if row else 1


def _send(client, case, token):
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    query = urlencode(kwargs.get("params") or {}, doseq=True)
    url = urlsplit(kwargs["url"])._replace(query=query).geturl()
    # Negative cases may carry a body that is not JSON at all: it is sent as it is.
    body = json.dumps(kwargs["json"]) if "json" in kwargs else kwargs.get("data") or b""
    content_type = kwargs["headers"].get("Content-Type", "application/json")
    return client.generic(case.method, url, data=body, content_type=content_type,
                          headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_input_makes_the_api_fail(api_schema, agent, customer, method, path):
    operation = api_schema[path][method]
    _row, token = token_create(user=agent, name="fuzz")
    client = Client()
    asset = customer.assets.get()
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
            _aim_at_real_rows(case, customer, asset)
        response = _send(client, case, token)
        where = f"{case.method} {case.formatted_path} {case.query!r} {case.body!r}"
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
