"""Extended statistics on the tickets' status, owner and department (PostgreSQL only).

A ticket waiting for dispatch (新建 / 待派单) never has an owner, and often has no department
yet. PostgreSQL estimates a condition on several columns by multiplying their selectivities as
if independent, so it put the pool (status in new/unassigned, no owner) at a few rows when
thousands were waiting, and chose to collect and sort the whole pool instead of walking
ticket_pool_due in deadline order (40 ms against 0.9 ms at 1M). ``CREATE STATISTICS`` with
functional dependencies and most-common combinations lets ANALYZE record how these columns go
together. SQLite has nothing like it and does not need it: its planner takes the partial index.
"""

from django.db import migrations

NAME = "ticket_status_owner_department"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {NAME} (dependencies, mcv) "
        "ON status, owner_id, department_id FROM tickets_ticket")
    schema_editor.execute("ANALYZE tickets_ticket")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0015_review_week_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
