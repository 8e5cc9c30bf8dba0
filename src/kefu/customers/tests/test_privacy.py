"""Personal data at rest: a raw dump of every table has no phone or ID number in clear."""

import pytest
from django.db import connection

from kefu.customers import services

PEOPLE = [
    ("李小龙", "13900001111", "110101198001011111", "北京市朝阳区建国路88号"),
    ("王芳", "18612345678", "31010419851212222X", "上海市徐汇区漕溪北路1号"),
    ("陈明", "021-61234567", "440301199912123333", "深圳市南山区科技园"),
]


def _dump_everything():
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.django_db
def test_a_raw_dump_has_no_plaintext_phone_or_id_number(agent, staff_phone="13700007777"):
    from kefu.accounts.models import StaffProfile

    StaffProfile.objects.filter(user=agent).update(phone=staff_phone)
    for name, phone, id_number, address in PEOPLE:
        c = services.customer_create(
            actor=agent, name=name, id_number=id_number, addresses=[address],
            contacts=[{"name": name, "phones": [phone]}],
        )
        services.customer_update(actor=agent, customer=c, notes="改了备注")  # history rows too
    dump = _dump_everything()
    assert "李小龙" in dump  # the dump did read the customer rows
    for _name, phone, id_number, address in PEOPLE:
        digits = phone.replace("-", "")
        assert digits not in dump
        assert phone not in dump
        assert id_number not in dump
        assert address not in dump
    assert staff_phone not in dump


@pytest.mark.django_db
def test_the_clear_value_comes_back_through_the_model(customer):
    customer.refresh_from_db()
    assert customer.id_number == "110101199001011234"
    assert customer.phones.get().number == "13812345678"
