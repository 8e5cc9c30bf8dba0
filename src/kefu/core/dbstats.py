"""Planner statistics: what the database knows of its tables' sizes and value spreads.

SQLite keeps none until ``ANALYZE`` runs, and without them it plans blind. Measured on a
generated 20,000-ticket set: the API's ticket list for an agent scoped to a department
(``owner = me OR created_by = me OR department = 4 OR department IS NULL``, by deadline, 26 rows)
was read as a MULTI-INDEX OR of every ticket in scope and then sorted (22 ms; at a million
tickets, 291 ms); after ``ANALYZE`` the same query walks the deadline index and stops at row 26.
PostgreSQL's autovacuum keeps its statistics by itself; after a bulk load it may lag.

``refresh()`` runs after the bulk generator and once a night from the worker (kefu.core.tasks).
It reads every index whole: a sampled ANALYZE (``PRAGMA analysis_limit``) sees one value of a
low-cardinality column in its sample and estimates a department at 1,001 tickets instead of
200,000, which chose the bad plan again. At a million tickets the whole SQLite database takes
about 4 s, with the write lock held (writers wait; their busy timeout is 20 s)."""

from django.db import connection


def refresh(tables=None):
    """Refresh the planner statistics of ``tables`` (names; default: every table)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 0")  # whole indexes, not samples
        if tables is None:
            cursor.execute("ANALYZE")
        else:
            for table in tables:
                cursor.execute(f"ANALYZE {quote(table)}")
