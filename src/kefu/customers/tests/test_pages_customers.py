"""The customer pages: list search and filters, keyset pages, the detail page's masking, the
create and edit forms' errors, and revealing one value through htmx."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.core.access import REASON_REQUIRED, reason_label
from kefu.core.models import AccessLog
from kefu.customers import services
from kefu.customers.models import Customer, Phone
from kefu.customers.services import BAD_DATE_ORDER, STALE_ASSET_VERSION, STALE_VERSION
from kefu.customers.views import MISSING_VERSION

pytestmark = pytest.mark.django_db

LIST = "/customers/"
CLEAR = ["13812345678", "138 1234 5678", "110101199001011234", "上海市浦东新区世纪大道100号",
         "世纪大道", "张三明"]
HTMX = {"HX-Request": "true"}
# Session, user, the user's permissions (2), the page's rows, their tags, the regions of the
# filter box: what the list costs whatever the number of customers shown.
LIST_QUERY_BUDGET = 10
DETAIL_QUERY_BUDGET = 15


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def make_customers(agent, regions, count, prefix="客户"):
    return [
        services.customer_create(
            actor=agent, name=f"{prefix}{i:03d}", kind="contract",
            region=regions["east" if i % 2 else "west"], tags=["学校", f"批次{i % 3}"],
            phones=[f"1390000{i:04d}"],
        )
        for i in range(count)
    ]


def rows_of(response):
    """Customer numbers on a list page, in order."""
    return [c.number for c in response.context["customers"]]


# --- list --------------------------------------------------------------------------------------

def test_it_opens_the_only_customer_with_the_searched_phone(agent, customer, west_customer):
    response = logged_in(agent).get(LIST, {"q": "+86 138-1234-5678"})
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])


def test_it_opens_the_only_match_of_an_htmx_search_as_a_client_redirect(agent, customer):
    response = logged_in(agent).get(LIST, {"q": "13812345678"},
                                    headers={**HTMX, "HX-Target": "customer-results"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("customers:detail", args=[customer.pk])


def test_it_lists_every_customer_with_a_shared_phone(agent, customer, regions):
    other = services.customer_create(actor=agent, name="张三明之妻", region=regions["east"],
                                     phones=["13812345678"])
    response = logged_in(agent).get(LIST, {"q": "13812345678"})
    assert response.status_code == 200
    assert rows_of(response) == [other.number, customer.number]


def test_it_lists_customers_whose_name_contains_the_text(agent, customer, west_customer):
    response = logged_in(agent).get(LIST, {"q": "三明"})
    assert response.status_code == 200
    assert rows_of(response) == [customer.number]
    assert "张*明" in response.content.decode()
    assert "张三明" not in response.content.decode()


def test_it_says_so_when_nothing_matches(agent, customer):
    response = logged_in(agent).get(LIST, {"q": "没有这个人"})
    assert rows_of(response) == []
    assert 'id="no-results"' in response.content.decode()


def test_it_filters_by_region_and_kind(agent, customer, west_customer, regions):
    client = logged_in(agent)
    assert rows_of(client.get(LIST, {"region": regions["west"].pk})) == [west_customer.number]
    assert rows_of(client.get(LIST, {"kind": "vip"})) == [customer.number]
    assert rows_of(client.get(LIST, {"kind": "vip", "region": regions["west"].pk})) == []


def test_it_filters_by_the_date_the_customer_was_created(agent, customer, west_customer):
    Customer.objects.filter(pk=customer.pk).update(
        created_at=datetime.datetime(2025, 6, 1, 10, tzinfo=datetime.UTC))
    client = logged_in(agent)
    assert rows_of(client.get(LIST, {"created_to": "2025-12-31"})) == [customer.number]
    assert rows_of(client.get(LIST, {"created_from": "2026-01-01"})) == [west_customer.number]
    both = client.get(LIST, {"created_from": "2025-06-01", "created_to": "2099-01-01"})
    assert rows_of(both) == [west_customer.number, customer.number]


def test_a_filter_that_cannot_be_read_is_reported_not_ignored(agent, customer):
    response = logged_in(agent).get(LIST, {"created_from": "下周"})
    assert response.status_code == 200
    assert rows_of(response) == []
    assert 'id="search-errors"' in response.content.decode()


def test_the_engineer_lists_only_customers_of_their_region(engineer, customer, west_customer):
    assert rows_of(logged_in(engineer).get(LIST)) == [customer.number]


def test_it_pages_with_a_next_link_until_the_last_page(agent, regions):
    made = make_customers(agent, regions, 30)
    client = logged_in(agent)
    first = client.get(LIST, {"kind": "contract"})
    assert len(rows_of(first)) == 25
    assert "下一页" in first.content.decode()
    next_url = first.context["next_after"]
    second = client.get(LIST, {"kind": "contract", "after": next_url})
    assert len(rows_of(second)) == 5
    assert "下一页" not in second.content.decode()
    newest_first = [c.number for c in reversed(made)]
    assert rows_of(first) + rows_of(second) == newest_first


def test_the_next_link_keeps_the_filters(agent, regions):
    make_customers(agent, regions, 30)
    first = logged_in(agent).get(LIST, {"kind": "contract"})
    link = f'href="?kind=contract&amp;after={first.context["next_after"]}"'
    assert link in first.content.decode()


def test_a_garbled_page_cursor_shows_the_first_page(agent, customer):
    response = logged_in(agent).get(LIST, {"after": "abc"})
    assert response.status_code == 200
    assert rows_of(response) == [customer.number]


def test_htmx_searches_get_only_the_results_fragment(agent, customer):
    response = logged_in(agent).get(LIST, {"q": "三明"},
                                    headers={**HTMX, "HX-Target": "customer-results"})
    body = response.content.decode()
    assert 'id="customer-table"' in body
    assert "<html" not in body


@pytest.mark.parametrize("count", [5, 40])
def test_the_list_query_count_does_not_grow_with_the_customers(
    agent, regions, django_assert_max_num_queries, count
):
    make_customers(agent, regions, count)
    client = logged_in(agent)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET):
        response = client.get(LIST)
    assert len(rows_of(response)) == min(count, 25)


def test_the_list_costs_the_same_for_5_and_40_customers(agent, regions):
    client = logged_in(agent)
    client.get(LIST)  # steady state: the permissions are kept per process after the first page
    counts = []
    for batch in (5, 35):
        make_customers(agent, regions, batch, prefix=f"批{batch}-")
        with CaptureQueriesContext(connection) as queries:
            client.get(LIST, {"q": "批"})
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_lookup_box_hands_the_text_to_the_list_search(agent, customer):
    response = logged_in(agent).get(reverse("customers:lookup"), {"q": "A&B #1"})
    assert response.status_code == 302
    assert response["Location"] == "/customers/?q=A%26B+%231"


# --- detail ------------------------------------------------------------------------------------

def test_the_detail_page_shows_masked_values_only(agent, customer):
    response = logged_in(agent).get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    for clear in CLEAR:
        assert clear not in body, clear
    assert "138****5678" in body
    assert "110***********1234" in body
    assert "上海市浦东新****" in body
    assert "张*明" in body
    assert "LFX123456789" in body  # serials are not personal data
    assert not AccessLog.objects.exists()


def test_the_detail_page_has_a_bounded_query_count(agent, customer, django_assert_max_num_queries):
    client = logged_in(agent)
    url = reverse("customers:detail", args=[customer.pk])
    client.get(url)  # steady state: the permissions are kept per process after the first page
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for i in range(10):
        services.asset_create(actor=agent, customer=customer, product_model=f"型号{i}")
        services.customer_add_phone(actor=agent, customer=customer, number=f"1370000{i:04d}")
        services.customer_add_address(actor=agent, customer=customer, text=f"杭州市文一路{i}号")
    with django_assert_max_num_queries(DETAIL_QUERY_BUDGET):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["events"]) == 32  # created, the asset, 30 additions
    with CaptureQueriesContext(connection) as big:
        client.get(url)
    assert len(big) == len(small)


# --- create and edit ---------------------------------------------------------------------------

def test_it_creates_a_customer_and_opens_it(agent, regions):
    response = logged_in(agent).post(reverse("customers:create"), {
        "party_type": "person", "name": "李新", "kind": "vip", "region": regions["east"].pk,
        "phone": "139 0000 1111", "address": "杭州市西湖区文三路1号", "tags": "学校，重点",
    })
    new = Customer.objects.get(name="李新")
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[new.pk])
    assert new.phones.get().number == "13900001111"
    assert sorted(new.tags.values_list("name", flat=True)) == ["学校", "重点"]


@pytest.mark.parametrize("with_contact", [False, True])
def test_a_bad_phone_reshows_the_form_with_the_error_at_the_phone(agent, regions, with_contact):
    data = {"party_type": "person", "name": "李新", "kind": "vip", "phone": "138-abcd-5678",
            "address": "杭州市西湖区文三路1号", "notes": "客户来电咨询"}
    if with_contact:
        data["contact_name"] = "李新"
    response = logged_in(agent).post(reverse("customers:create"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["phone"]
    assert not form.non_field_errors()
    body = response.content.decode()
    assert 'value="138-abcd-5678"' in body
    assert 'value="杭州市西湖区文三路1号"' in body
    assert "客户来电咨询" in body
    assert str(form.errors["phone"][0]) in body
    assert not Customer.objects.exists()
    assert not Phone.objects.exists()


def test_a_missing_name_is_shown_at_the_name(agent):
    response = logged_in(agent).post(reverse("customers:create"),
                                     {"party_type": "person", "name": " ", "kind": "vip"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not Customer.objects.exists()


def test_the_edit_form_does_not_prefill_the_id_number(agent, customer):
    response = logged_in(agent).get(reverse("customers:edit", args=[customer.pk]))
    assert response.status_code == 200
    assert "110101199001011234" not in response.content.decode()
    assert f'name="version" value="{customer.version}"' in response.content.decode()


def test_it_saves_an_edit_with_the_current_version(agent, customer):
    response = logged_in(agent).post(reverse("customers:edit", args=[customer.pk]), {
        "party_type": "person", "name": "张三明", "kind": "major", "notes": "改为大客户",
        "tags": "学校", "version": customer.version,
    })
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.kind, customer.notes, customer.version) == ("major", "改为大客户", 2)
    assert customer.id_number == "110101199001011234"  # a blank box leaves it alone


def test_a_stale_edit_shows_the_conflict_and_keeps_the_stored_data(agent, supervisor, customer):
    stale = customer.version
    services.customer_update(actor=supervisor, customer=customer, version=stale, notes="主管改过")
    response = logged_in(agent).post(reverse("customers:edit", args=[customer.pk]), {
        "party_type": "person", "name": "张三明", "kind": "ordinary", "notes": "客服改的",
        "version": stale,
    })
    assert response.status_code == 200
    message = str(STALE_VERSION) % {"current": stale + 1, "given": stale}
    assert message in response.content.decode()
    assert "客服改的" in response.content.decode()  # what was typed is still on the form
    customer.refresh_from_db()
    assert (customer.notes, customer.kind, customer.version) == ("主管改过", "vip", stale + 1)


@pytest.mark.parametrize("version", ["", "abc", "-1"])
def test_an_edit_without_a_readable_version_is_refused_not_a_500(agent, customer, version):
    data = {"party_type": "person", "name": "张三明", "kind": "ordinary", "notes": "覆盖"}
    if version:
        data["version"] = version
    response = logged_in(agent).post(reverse("customers:edit", args=[customer.pk]), data)
    assert response.status_code == 200
    assert str(MISSING_VERSION) in response.content.decode()
    customer.refresh_from_db()
    assert (customer.kind, customer.notes, customer.version) == ("vip", "", 1)


# --- phones and assets -------------------------------------------------------------------------

def test_it_adds_a_phone_and_shows_it_masked(agent, customer):
    client = logged_in(agent)
    response = client.post(reverse("customers:phone_add", args=[customer.pk]),
                           {"number": "021-6123 4567"})
    assert response.status_code == 302
    assert sorted(customer.phones.values_list("number", flat=True)) == ["02161234567",
                                                                        "13812345678"]
    body = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "021****4567" in body
    assert "02161234567" not in body


def test_a_phone_the_customer_already_has_is_refused_at_the_field(agent, customer):
    response = logged_in(agent).post(reverse("customers:phone_add", args=[customer.pk]),
                                     {"number": "+86 138 1234 5678"})
    assert response.status_code == 200
    assert response.context["form"].errors["number"]
    assert customer.phones.count() == 1


def test_an_asset_with_warranty_before_purchase_is_refused_at_the_field(agent, customer):
    response = logged_in(agent).post(reverse("customers:asset_create", args=[customer.pk]), {
        "product_model": "理光 MP 2014", "serial": "sn-1", "purchase_date": "2026-05-01",
        "warranty_end": "2026-04-01",
    })
    assert response.status_code == 200
    assert response.context["form"].errors["warranty_end"] == [str(BAD_DATE_ORDER)]
    assert 'value="理光 MP 2014"' in response.content.decode()
    assert customer.assets.count() == 1


def test_it_registers_an_asset_with_its_serial_in_capitals(agent, customer):
    response = logged_in(agent).post(reverse("customers:asset_create", args=[customer.pk]),
                                     {"product_model": "理光 MP 2014", "serial": " sn-1 "})
    assert response.status_code == 302
    assert customer.assets.filter(serial="SN-1").exists()


def test_a_stale_asset_edit_shows_the_conflict(agent, supervisor, customer):
    asset = customer.assets.get()
    services.asset_update(actor=supervisor, asset=asset, version=1, notes="主管改过")
    response = logged_in(agent).post(
        reverse("customers:asset_edit", args=[customer.pk, asset.pk]),
        {"product_model": "EPSON L3150", "notes": "客服改的", "version": 1})
    assert response.status_code == 200
    message = str(STALE_ASSET_VERSION) % {"current": 2, "given": 1}
    assert message in response.content.decode()
    asset.refresh_from_db()
    assert (asset.notes, asset.version) == ("主管改过", 2)


# --- reveal ------------------------------------------------------------------------------------

def reveal(client, customer, **data):
    return client.post(reverse("customers:reveal", args=[customer.pk]), data, headers=HTMX)


def test_it_reveals_a_phone_in_place_and_logs_the_reason(agent, customer):
    phone = customer.phones.get()
    response = reveal(logged_in(agent), customer, field="phone", item=phone.pk,
                      reason="callback")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="revealed' in body
    assert "13812345678" in body
    assert "<html" not in body
    assert "no-store" in response["Cache-Control"]
    row = AccessLog.objects.get()
    assert (row.user, row.object_id, row.field, row.reason, row.channel) == (
        agent, str(customer.pk), f"phone#{phone.pk}", reason_label("callback"), "web")
    assert row.ip_address == "127.0.0.1"


def test_it_reveals_the_id_number_with_a_typed_reason(agent, customer):
    response = reveal(logged_in(agent), customer, field="id_number", reason_text="客户要求核对")
    assert "110101199001011234" in response.content.decode()
    assert AccessLog.objects.get().reason == "客户要求核对"


def test_a_reveal_without_a_reason_is_refused_with_the_message(agent, customer):
    phone = customer.phones.get()
    response = reveal(logged_in(agent), customer, field="phone", item=phone.pk, reason="")
    assert response.status_code == 400
    body = response.content.decode()
    assert str(REASON_REQUIRED) in body
    assert "13812345678" not in body
    assert 'class="d-inline reveal-form"' in body  # the form is back, to try again
    assert not AccessLog.objects.exists()


def test_a_manager_cannot_reveal(manager, customer):
    phone = customer.phones.get()
    response = reveal(logged_in(manager), customer, field="phone", item=phone.pk,
                      reason="callback")
    assert response.status_code == 403
    assert "13812345678" not in response.content.decode()
    assert not AccessLog.objects.exists()


def test_the_manager_sees_no_reveal_buttons(manager, customer):
    response = logged_in(manager).get(reverse("customers:detail", args=[customer.pk]))
    assert "reveal-form" not in response.content.decode()


def test_a_phone_of_another_customer_cannot_be_revealed_through_this_one(agent, customer,
                                                                         west_customer):
    other_phone = west_customer.phones.get()
    response = reveal(logged_in(agent), customer, field="phone", item=other_phone.pk,
                      reason="callback")
    assert response.status_code == 404
    assert "87654321" not in response.content.decode()
    assert not AccessLog.objects.exists()


def test_an_unknown_field_is_refused(agent, customer):
    response = reveal(logged_in(agent), customer, field="password", reason="callback")
    assert response.status_code == 400
    assert not AccessLog.objects.exists()


# --- export ------------------------------------------------------------------------------------

def test_an_export_is_logged_because_it_holds_clear_personal_data(supervisor, customer,
                                                                 west_customer):
    response = logged_in(supervisor).get(reverse("customers:export"))
    assert response.status_code == 200
    assert response.content.startswith(b"PK")
    row = AccessLog.objects.get()
    assert (row.user, row.object_type, row.object_id, row.object_label, row.field, row.reason,
            row.channel) == (supervisor, "customers.customer", "*", "导出 2 个客户", "export",
                             "导出 Excel", "export")
    assert row.ip_address == "127.0.0.1"


def test_each_export_is_a_row_of_its_own(manager, customer):
    client = logged_in(manager)
    client.get(reverse("customers:export"))
    client.get(reverse("customers:export"))
    assert list(AccessLog.objects.values_list("user__username", "object_label")) == [
        ("mike", "导出 1 个客户"), ("mike", "导出 1 个客户")]


def test_a_refused_export_is_not_logged(agent, customer):
    assert logged_in(agent).get(reverse("customers:export")).status_code == 403
    assert not AccessLog.objects.exists()
