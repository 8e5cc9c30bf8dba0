import datetime
from zoneinfo import ZoneInfo

import pytest

from kefu.core.errors import Conflict
from kefu.core.history import check_version, save_attributed

pytestmark = pytest.mark.django_db
AT = datetime.datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_history_names_the_actor_and_the_business_time(customer, supervisor):
    customer.notes = "重点客户"
    save_attributed(customer, supervisor, at=AT, update_fields=["notes"])
    latest = customer.history.order_by("-history_id").first()
    assert (latest.history_user, latest.history_date, latest.notes) == (supervisor, AT, "重点客户")


def test_a_stale_version_is_a_conflict_naming_both_versions(customer):
    check_version(customer, None, "%(current)s %(given)s")
    check_version(customer, "1", "%(current)s %(given)s")
    with pytest.raises(Conflict) as info:
        check_version(customer, 3, "当前 %(current)s，提交 %(given)s")
    assert info.value.message == "当前 1，提交 3"
