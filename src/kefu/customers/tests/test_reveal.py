import pytest

from kefu.core.access import REASON_REQUIRED
from kefu.core.errors import PermissionDenied, ValidationFailed
from kefu.core.models import AccessLog
from kefu.customers import services

pytestmark = pytest.mark.django_db


def test_revealing_a_phone_logs_who_what_which_and_why(agent, customer):
    phone = customer.phones.get()
    value = services.customer_reveal(actor=agent, customer=customer, field="phone", item_id=phone.pk,
                                     reason="callback")
    assert value == "13812345678"
    row = AccessLog.objects.get()
    assert (row.user, row.object_type, row.object_id, row.field) == (
        agent, "customers.customer", str(customer.pk), f"phone#{phone.pk}",
    )
    assert row.reason == "回访/回电客户"


def test_a_typed_reason_is_kept_verbatim(agent, customer):
    services.customer_reveal(actor=agent, customer=customer, field="id_number", reason="客户要求核对身份证")
    assert AccessLog.objects.get().reason == "客户要求核对身份证"


def test_no_reason_no_reveal(agent, customer):
    with pytest.raises(ValidationFailed) as info:
        services.customer_reveal(actor=agent, customer=customer, field="id_number", reason=" ")
    assert info.value.fields["reason"] == [REASON_REQUIRED]
    assert not AccessLog.objects.exists()


def test_a_manager_without_the_permission_cannot_reveal(manager, customer):
    with pytest.raises(PermissionDenied):
        services.customer_reveal(actor=manager, customer=customer, field="id_number", reason="verify")
    assert not AccessLog.objects.exists()


def test_an_unknown_field_is_refused(agent, customer):
    with pytest.raises(ValidationFailed):
        services.customer_reveal(actor=agent, customer=customer, field="password", reason="verify")
