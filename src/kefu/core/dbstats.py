"""Planner statistics: what the database knows of its tables' sizes and value spreads.

SQLite keeps none until ``ANALYZE`` runs, and without them it plans blind. Measured on a
generated 20,000-ticket set: the API's ticket list for an agent scoped to a department
(``owner = me OR created_by = me OR department = 4 OR department IS NULL``, by deadline, 26 rows)
was read as a MULTI-INDEX OR of every ticket in scope and then sorted (22 ms; at a million
tickets, seconds); after ``ANALYZE`` the same query walks the deadline index and stops at row 26.
PostgreSQL's autovacuum keeps its statistics by itself; after a bulk load it may lag.

``refresh()`` runs after the bulk generator and once a night from the worker (kefu.core.tasks).
On SQLite ``analysis_limit`` makes it sample each index instead of reading it whole, so it takes
well under a second at a million tickets and holds the write lock that briefly."""

from django.db import connection

SQLITE_ANALYSIS_LIMIT = 1000  # rows sampled per index (SQLite ≥ 3.32)


def refresh(tables=None):
    """Refresh the planner statistics of ``tables`` (names; default: every table)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
        if tables is None:
            cursor.execute("ANALYZE")
        else:
            for table in tables:
                cursor.execute(f"ANALYZE {quote(table)}")
