import pytest
from django.utils import timezone

from kefu.customers import services
from kefu.customers.models import Customer
from kefu.customers.queries import filter_customers, lookup_by_phone, recognise, search

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("138 1234 5678", "phone"),
        ("+86-138-1234-5678", "phone"),
        ("021-61234567", "phone"),
        ("KH202600001", "number"),
        ("110101199001011234", "id_number"),
        ("LSVAM4187C2184847", "vin"),
        ("沪A12345", "plate"),
        ("张三", "text"),
    ],
)
def test_it_recognises_what_was_typed(typed, kind):
    assert recognise(typed).kind == kind


def test_a_caller_is_found_by_phone_in_any_spelling(agent, customer, west_customer):
    for typed in ["13812345678", "+86 138-1234-5678", "0086 13812345678"]:
        assert lookup_by_phone(agent, typed) == [customer]
    qs, what = search(Customer.objects.all(), "02887654321")
    assert list(qs) == [west_customer] and what.kind == "phone"


def test_chinese_names_match_by_substring(agent, customer, west_customer):
    qs, _ = search(Customer.objects.all(), "三明")
    assert list(qs) == [customer]
    qs, _ = search(Customer.objects.all(), "七中")
    assert list(qs) == [west_customer]


def test_serial_plate_number_and_id_find_the_owner(agent, customer):
    asset = customer.assets.get()
    services.asset_update(actor=agent, asset=asset, plate="沪A12345")
    for typed in ["LFX123456789", "沪A12345", customer.number, "110101199001011234"]:
        qs, _ = search(Customer.objects.all(), typed)
        assert list(qs) == [customer], typed


def test_structured_filters(customer, west_customer, regions):
    qs = Customer.objects.all()
    assert list(filter_customers(qs, region=regions["west"].pk)) == [west_customer]
    assert list(filter_customers(qs, kind="vip")) == [customer]
    assert list(filter_customers(qs, tag="学校")) == [customer]
    assert list(filter_customers(qs, serial="lfx123456789")) == [customer]
    # The day as the filter reads it: Beijing time (UTC's date differs from 16:00 to 24:00 UTC)
    today = timezone.localdate(customer.created_at)
    assert set(filter_customers(qs, created_from=today, created_to=today)) == {customer, west_customer}


def test_an_engineer_finds_only_customers_of_their_region(engineer, customer, west_customer):
    assert list(Customer.objects.visible_to(engineer)) == [customer]
    assert lookup_by_phone(engineer, "02887654321") == []
