"""AlterFieldIndex: a migration that only drops (or adds) indexes does it in place."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

BEFORE = ("tickets", "0011_on_hold_and_major_indexes")
AFTER = ("tickets", "0012_history_indexes_only_id")


def indexed(table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {tuple(c["columns"]) for c in constraints.values() if c["index"] and not c["primary_key"]}


@pytest.mark.django_db(transaction=True)
def test_history_indexes_are_dropped_in_place_and_come_back_on_the_way_down():
    """Django's SQLite backend would copy the whole history table into a new one to drop an
    index (six and a half minutes at one million tickets); AlterFieldIndex drops it in place.
    Migrating back creates the indexes again."""
    table = "tickets_historicalticket"
    try:
        MigrationExecutor(connection).migrate([BEFORE])
        before = indexed(table)
        assert {("customer_id",), ("number",), ("owner_id",), ("ticket_type_id",)} <= before
        with CaptureQueriesContext(connection) as forwards:
            MigrationExecutor(connection).migrate([AFTER])
        assert indexed(table) == {("id",), ("history_date",), ("history_user_id",)}
        statements = [q["sql"] for q in forwards.captured_queries]
        assert any("DROP INDEX" in sql for sql in statements)
        assert not any('"new__' in sql for sql in statements)  # no table was copied
    finally:
        MigrationExecutor(connection).migrate([AFTER])
    assert indexed(table) == {("id",), ("history_date",), ("history_user_id",)}


@pytest.mark.django_db(transaction=True)
def test_a_change_beyond_the_index_is_refused():
    """AlterFieldIndex on SQLite must not silently skip a real change of the column."""
    from django.apps import apps
    from django.db import models
    from django.db.migrations.state import ProjectState

    from kefu.core.migration_operations import AlterFieldIndex

    if connection.vendor != "sqlite":
        pytest.skip("on other backends AlterFieldIndex is AlterField")
    state = ProjectState.from_apps(apps)
    operation = AlterFieldIndex("historicalticket", "subject", models.CharField(max_length=50))
    new_state = state.clone()
    operation.state_forwards("tickets", new_state)
    with connection.schema_editor() as editor, pytest.raises(ValueError, match="more than db_index"):
        operation.database_forwards("tickets", editor, state, new_state)
