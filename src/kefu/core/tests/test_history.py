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


@pytest.mark.parametrize("path", ["copied by the database", "built in Python"])
def test_the_history_row_holds_every_tracked_value_as_the_model_does(customer, supervisor, agent,
                                                                      monkeypatch, path):
    """The history row is written by a statement of our own: copied from the saved row
    (INSERT … SELECT), or, for history with columns the table lacks, built from the object
    (core.compiled.insert_row). Either must hold what simple-history would, field kind by
    field kind: encrypted text that decrypts, dates, booleans, foreign keys, the actor, a new
    row's "+", a change's "~"."""
    from kefu.core import history
    from kefu.customers.models import Customer

    if path == "built in Python":
        monkeypatch.setattr(history, "_copy_statement", lambda *args: None)

    customer.notes = "改约到周五"
    customer.id_number = "11010119900101123X"
    save_attributed(customer, supervisor, at=AT)
    rows = list(customer.history.order_by("history_id"))
    first, latest = rows[0], rows[-1]
    assert first.history_type == "+" and latest.history_type == "~"
    assert (latest.history_user_id, latest.history_date) == (supervisor.pk, AT)
    fresh = Customer.objects.get(pk=customer.pk)
    for field in Customer.history.model._meta.concrete_fields:
        if field.name.startswith("history_"):
            continue
        assert getattr(latest, field.attname) == getattr(fresh, field.attname), field.name
    assert latest.id_number == "11010119900101123X"  # stored encrypted, read back in clear


def test_history_tables_index_only_the_rows_id_its_date_and_its_user(db):
    """Every history table (tickets, customers, staff ...) indexes the tracked row's id, the
    history date and the user, not each copied foreign key and unique column (simple-history's
    default: 21 indexes on the ticket history, all written on every save)."""
    from django.apps import apps
    from django.db import connection

    historical = [m for m in apps.get_models() if m.__name__.startswith("Historical")]
    assert {m._meta.model_name for m in historical} >= {"historicalticket", "historicalcustomer"}
    with connection.cursor() as cursor:
        for model in historical:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            indexed = {tuple(c["columns"]) for c in constraints.values()
                       if c["index"] and not c["primary_key"]}
            assert indexed == {("id",), ("history_date",), ("history_user_id",)}, model.__name__
