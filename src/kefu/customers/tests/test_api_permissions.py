"""Who may call what: every role against every customer endpoint, with the exact status.

200/201 allowed, 403 the role lacks the permission, 404 the customer is outside the user's
scope (an engineer of another region learns nothing). Never a 500.
"""

import pytest
from django.test import Client

from kefu.accounts.services import token_create, token_revoke
from kefu.core.models import AccessLog
from kefu.customers.models import Customer
from kefu.customers.tests.test_api_customers import api_client, assert_error

pytestmark = pytest.mark.django_db



ROLES = ["agent", "dispatcher", "engineer", "supervisor", "manager", "admin_user", "nobody"]


def _endpoints(customer):
    base = f"/api/v1/customers/{customer.pk}"
    asset = customer.assets.get()
    phone = customer.phones.get()
    return {
        "list": ("get", "/api/v1/customers", None),
        "detail": ("get", base, None),
        "create": ("post", "/api/v1/customers", {"name": "新客户"}),
        "update": ("patch", base, {"version": customer.version, "notes": "更新"}),
        "add_phone": ("post", f"{base}/phones", {"number": "13700009999"}),
        "reveal": ("post", f"{base}/reveal",
                   {"field": "phone", "item_id": phone.pk, "reason": "callback"}),
        "assets_list": ("get", f"{base}/assets", None),
        "assets_create": ("post", f"{base}/assets", {"product_model": "EPSON L4150"}),
        "assets_update": ("patch", f"{base}/assets/{asset.pk}", {"version": asset.version,
                                                                 "notes": "更新"}),
    }


def _call(client, method, url, data):
    if data is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, data=data, content_type="application/json")


OK = {"list": 200, "detail": 200, "create": 201, "update": 200, "add_phone": 201, "reveal": 200,
      "assets_list": 200, "assets_create": 201, "assets_update": 200}
READ_ONLY = {"list", "detail", "assets_list"}

# role → endpoint → status. Engineers read and reveal (to arrange a visit) but do not edit;
# managers read without revealing; a user with no role may do nothing.
EXPECTED = {
    "agent": OK,
    "dispatcher": OK,
    "supervisor": OK,
    "admin_user": OK,
    "engineer": {name: OK[name] if name in READ_ONLY | {"reveal"} else 403 for name in OK},
    "manager": {name: OK[name] if name in READ_ONLY else 403 for name in OK},
    "nobody": dict.fromkeys(OK, 403),
}


@pytest.mark.parametrize("endpoint", list(OK))
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(request, customer, role, endpoint):
    user = request.getfixturevalue(role)
    method, url, data = _endpoints(customer)[endpoint]
    before = (Customer.objects.count(), AccessLog.objects.count())
    response = _call(api_client(user), method, url, data)
    expected = EXPECTED[role][endpoint]
    assert response.status_code == expected, (role, endpoint, response.content)
    if expected >= 400:
        assert_error(response, expected, "permission_denied")
        assert (Customer.objects.count(), AccessLog.objects.count()) == before
    elif endpoint == "reveal":
        assert AccessLog.objects.get().user == user


SCOPED = [name for name in OK if name not in ("list", "create")]


@pytest.mark.parametrize("endpoint", SCOPED)
def test_an_engineer_of_another_region_gets_404_not_a_leak(other_region_engineer, customer,
                                                          endpoint):
    method, url, data = _endpoints(customer)[endpoint]
    response = _call(api_client(other_region_engineer), method, url, data)
    body = assert_error(response, 404, "not_found")
    assert customer.number not in response.content.decode()
    assert "east" not in str(body)
    assert not AccessLog.objects.exists()


def test_the_other_region_engineer_does_not_see_the_customer_in_the_list(
    other_region_engineer, customer, west_customer
):
    items = api_client(other_region_engineer).get("/api/v1/customers").json()["items"]
    assert [item["id"] for item in items] == [west_customer.pk]


@pytest.mark.parametrize("endpoint", list(OK))
def test_without_a_token_every_endpoint_is_401(customer, endpoint):
    method, url, data = _endpoints(customer)[endpoint]
    assert_error(_call(Client(), method, url, data), 401, "unauthorized")


@pytest.mark.parametrize("endpoint", list(OK))
def test_a_revoked_token_is_401_on_every_endpoint(agent, customer, endpoint):
    row, raw = token_create(user=agent, name="old laptop")
    token_revoke(user=agent, token_id=row.pk)
    method, url, data = _endpoints(customer)[endpoint]
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert_error(_call(client, method, url, data), 401, "unauthorized")
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("header", ["Bearer kefu_not-a-real-token", "Bearer ", "Token abc",
                                    "Basic YWxpY2U6cHc="])
def test_an_invalid_authorization_header_is_401(customer, header):
    response = Client(headers={"Authorization": header}).get("/api/v1/customers")
    assert_error(response, 401, "unauthorized")


def test_a_deactivated_users_token_is_401(agent, customer):
    client = api_client(agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert_error(client.get("/api/v1/customers"), 401, "unauthorized")
