"""/api/v1/customers/{id}/assets: list, register, update with a version."""

import datetime

import pytest
import time_machine

from kefu.customers import services
from kefu.customers.models import Asset, CustomerEvent
from kefu.customers.services import BAD_DATE_ORDER, PRODUCT_REQUIRED, STALE_ASSET_VERSION
from kefu.customers.tests.test_api_customers import api_client, assert_error, patch, post

pytestmark = pytest.mark.django_db



def assets_url(customer):
    return f"/api/v1/customers/{customer.pk}/assets"


def test_it_lists_a_customers_assets_with_warranty_status(agent, customer):
    services.asset_create(actor=agent, customer=customer, product_model="HP M1136",
                          warranty_end=datetime.date(2020, 1, 1))
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC), tick=False):
        response = api_client(agent).get(assets_url(customer))
    assert response.status_code == 200
    body = response.json()
    assert [(a["product_model"], a["warranty_status"]) for a in body] == [
        ("EPSON L3150", "in"), ("HP M1136", "expired"),
    ]
    first = body[0]
    assert first["serial"] == "LFX123456789"
    assert first["purchase_date"] == "2025-03-01" and first["warranty_end"] == "2027-03-01"
    assert first["warranty_status_label"] == "保修期内"
    assert first["version"] == 1


def test_the_asset_list_has_a_query_budget(agent, customer, django_assert_max_num_queries):
    for i in range(10):
        services.asset_create(actor=agent, customer=customer, product_model=f"型号{i}")
    client = api_client(agent)
    client.get(assets_url(customer))
    with django_assert_max_num_queries(6):
        assert len(client.get(assets_url(customer)).json()) == 11


def test_it_registers_an_asset(agent, customer):
    payload = {
        "product_model": "一汽大众 迈腾", "serial": "lsvaa4182e2123456", "plate": "沪a 12345",
        "purchase_date": "2025-05-01", "warranty_end": "2028-05-01", "contract_number": "HT-9",
        "notes": "租赁车辆",
    }
    response = post(api_client(agent), assets_url(customer), payload)
    assert response.status_code == 201, response.content
    body = response.json()
    asset = Asset.objects.get(pk=body["id"])
    assert (asset.customer, asset.serial, asset.plate) == (customer, "LSVAA4182E2123456", "沪A12345")
    assert asset.warranty_end == datetime.date(2028, 5, 1)
    assert body["plate"] == "沪A12345" and body["version"] == 1
    assert CustomerEvent.objects.filter(customer=customer, verb="asset_added").count() == 2


def test_a_warranty_before_purchase_is_a_422(agent, customer):
    body = assert_error(
        post(api_client(agent), assets_url(customer),
             {"product_model": "X", "purchase_date": "2025-05-01", "warranty_end": "2024-05-01"}),
        422, "validation_failed", ["warranty_end"],
    )
    assert body["fields"]["warranty_end"] == [str(BAD_DATE_ORDER)]
    assert customer.assets.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "product_model"),
        ({"product_model": ""}, "product_model"),
        ({"product_model": "X", "plate": "ß" * 10}, "plate"),
        ({"product_model": "X", "serial": "ß" * 40}, "serial"),
        ({"product_model": "X", "installed_on": "2025-02-30"}, "installed_on"),
        ({"product_model": "X", "customer": 5}, "customer"),
    ],
)
def test_invalid_asset_input_is_a_422(agent, customer, payload, field):
    assert_error(post(api_client(agent), assets_url(customer), payload), 422, "validation_failed",
                 [field])
    assert customer.assets.count() == 1


def test_a_blank_product_model_gets_the_services_message(agent, customer):
    body = assert_error(post(api_client(agent), assets_url(customer), {"product_model": "  "}),
                        422, "validation_failed", ["product_model"])
    assert body["fields"]["product_model"] == [str(PRODUCT_REQUIRED)]


def test_it_updates_an_asset_and_bumps_the_version(agent, customer):
    asset = customer.assets.get()
    response = patch(api_client(agent), f"{assets_url(customer)}/{asset.pk}",
                     {"version": 1, "installed_on": "2025-03-05", "notes": "已安装"})
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    asset.refresh_from_db()
    assert (asset.installed_on, asset.notes, asset.version) == (
        datetime.date(2025, 3, 5), "已安装", 2,
    )


def test_null_clears_an_asset_date(agent, customer):
    asset = customer.assets.get()
    response = patch(api_client(agent), f"{assets_url(customer)}/{asset.pk}",
                     {"version": 1, "warranty_end": None})
    assert response.status_code == 200
    assert response.json()["warranty_status"] == "unknown"
    asset.refresh_from_db()
    assert asset.warranty_end is None


def test_a_stale_asset_version_is_a_409(agent, customer):
    asset = customer.assets.get()
    services.asset_update(actor=agent, asset=asset, version=1, notes="先改的")
    body = assert_error(
        patch(api_client(agent), f"{assets_url(customer)}/{asset.pk}", {"version": 1, "notes": "后改的"}),
        409, "conflict",
    )
    assert body["message"] == str(STALE_ASSET_VERSION) % {"current": 2, "given": 1}
    asset.refresh_from_db()
    assert asset.notes == "先改的"


def test_the_asset_version_is_required(agent, customer):
    asset = customer.assets.get()
    assert_error(patch(api_client(agent), f"{assets_url(customer)}/{asset.pk}", {"notes": "x"}),
                 422, "validation_failed", ["version"])


def test_an_update_checks_dates_against_the_stored_ones(agent, customer):
    asset = customer.assets.get()  # bought 2025-03-01
    assert_error(patch(api_client(agent), f"{assets_url(customer)}/{asset.pk}",
                       {"version": 1, "warranty_end": "2024-01-01"}),
                 422, "validation_failed", ["warranty_end"])


def test_an_asset_of_another_customer_is_a_404(agent, customer, west_customer):
    other = services.asset_create(actor=agent, customer=west_customer, product_model="联想 M7400")
    assert_error(patch(api_client(agent), f"{assets_url(customer)}/{other.pk}",
                       {"version": 1, "notes": "x"}), 404, "not_found")
    other.refresh_from_db()
    assert other.notes == ""


def test_an_engineer_cannot_see_the_assets_of_another_region(other_region_engineer, customer):
    assert_error(api_client(other_region_engineer).get(assets_url(customer)), 404, "not_found")


def test_an_engineer_may_read_but_not_register_assets(engineer, customer):
    client = api_client(engineer)
    assert client.get(assets_url(customer)).status_code == 200
    assert_error(post(client, assets_url(customer), {"product_model": "X"}), 403,
                 "permission_denied")
    assert customer.assets.count() == 1
