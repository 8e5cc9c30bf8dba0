import datetime

import pytest

from kefu.core.errors import Conflict, ValidationFailed
from kefu.customers import services
from kefu.customers.models import Asset, Customer, CustomerEvent

pytestmark = pytest.mark.django_db


def test_it_creates_a_numbered_customer_with_contacts_phones_and_event(agent, regions):
    c = services.customer_create(
        actor=agent, name="北京四中", party_type="organisation", kind="major",
        region=regions["east"], contacts=[{"name": "刘老师", "role": "信息中心", "phones": ["13511112222"]}],
        addresses=["北京市西城区"], tags=["学校", "学校", "重点"],
    )
    assert c.number.startswith("KH")
    assert c.contacts.get().phones.get().number == "13511112222"
    assert sorted(c.tags.values_list("name", flat=True)) == ["学校", "重点"]
    assert CustomerEvent.objects.filter(customer=c, verb="created").exists()
    assert c.history.count() == 1


def test_it_refuses_a_blank_name_and_keeps_nothing(agent):
    with pytest.raises(ValidationFailed) as info:
        services.customer_create(actor=agent, name="  ", phones=["13800000000"])
    assert info.value.fields["name"] == [services.NAME_REQUIRED]
    assert Customer.objects.count() == 0


def test_it_refuses_a_bad_phone(agent):
    with pytest.raises(ValidationFailed) as info:
        services.customer_create(actor=agent, name="张三", phones=["不是电话"])
    assert "phones" in info.value.fields


def test_a_taken_number_is_refused(agent, customer):
    with pytest.raises(ValidationFailed) as info:
        services.customer_create(actor=agent, name="另一个", number=customer.number)
    assert info.value.fields["number"] == [services.NUMBER_TAKEN]


def test_update_bumps_version_and_refuses_a_stale_one(agent, customer):
    updated = services.customer_update(actor=agent, customer=customer, version=1, kind="major")
    assert updated.version == 2 and updated.kind == "major"
    with pytest.raises(Conflict):
        services.customer_update(actor=agent, customer=customer, version=1, kind="ordinary")
    assert Customer.objects.get(pk=customer.pk).kind == "major"


def test_update_records_who_changed_what(agent, supervisor, customer):
    services.customer_update(actor=supervisor, customer=customer, notes="重要客户")
    latest = customer.history.first()
    assert latest.notes == "重要客户"
    event = customer.events.first()
    assert event.actor == supervisor and event.data["fields"] == ["notes"]


def test_an_update_that_changes_nothing_keeps_the_version(agent, customer):
    again = services.customer_update(actor=agent, customer=customer, name=customer.name)
    assert again.version == 1


def test_asset_warranty_status_is_derived(agent, customer):
    asset = customer.assets.get()
    assert asset.warranty_status_on(datetime.date(2026, 1, 1)) == Asset.WarrantyStatus.IN_WARRANTY
    assert asset.warranty_status_on(datetime.date(2027, 2, 15)) == Asset.WarrantyStatus.EXPIRING
    assert asset.warranty_status_on(datetime.date(2027, 3, 2)) == Asset.WarrantyStatus.EXPIRED


def test_asset_warranty_before_purchase_is_refused(agent, customer):
    with pytest.raises(ValidationFailed) as info:
        services.asset_create(
            actor=agent, customer=customer, product_model="X",
            purchase_date=datetime.date(2025, 5, 1), warranty_end=datetime.date(2025, 1, 1),
        )
    assert info.value.fields["warranty_end"] == [services.BAD_DATE_ORDER]


def test_asset_update_with_stale_version_conflicts(agent, customer):
    asset = customer.assets.get()
    services.asset_update(actor=agent, asset=asset, version=1, plate="沪a 12345")
    assert Asset.objects.get(pk=asset.pk).plate == "沪A12345"
    with pytest.raises(Conflict):
        services.asset_update(actor=agent, asset=asset, version=1, plate="沪B00000")


def test_history_rows_name_the_acting_user_outside_a_request(agent, supervisor, customer):
    services.customer_update(actor=supervisor, customer=customer, kind="major")
    assert customer.history.first().history_user == supervisor
    assert customer.history.last().history_user == agent
    assert customer.phones.get().history.get().history_user == agent


def test_add_phone_keeps_the_label_and_refuses_a_duplicate(agent, customer):
    phone = services.customer_add_phone(actor=agent, customer=customer, number="021-61234567",
                                        label="landline")
    assert phone.label == "landline" and phone.number == "02161234567"
    with pytest.raises(ValidationFailed) as info:
        services.customer_add_phone(actor=agent, customer=customer, number="+86 21 6123 4567")
    assert list(info.value.fields) == ["number"]
