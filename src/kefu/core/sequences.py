"""Number sequences: CS202611001, SF202611002, KH2026000123 …

One row per (prefix, period) holds the last value. Drawing a number locks that row
(``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the IMMEDIATE transaction mode already holds
the database write lock), so concurrent callers queue and every number is handed out once.
The draw belongs to the caller's transaction: if it rolls back, the number is given back,
so committed numbers have no gaps.
"""

from django.db import connection, transaction

from kefu.core.models import NumberSequence


def next_value(prefix: str, period: str = "") -> int:
    """The next value: one ``UPDATE … RETURNING`` in the common case (the UPDATE takes the
    row lock on PostgreSQL; SQLite's IMMEDIATE transaction holds the write lock); the period's
    first number creates the row first (a concurrent creator is harmless)."""
    table = connection.ops.quote_name(NumberSequence._meta.db_table)
    sql = (f"UPDATE {table} SET last_value = last_value + 1 "
           "WHERE prefix = %s AND period = %s RETURNING last_value")
    # No savepoint of its own: the draw commits or rolls back with the caller's transaction.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(sql, [prefix, period])
        row = cursor.fetchone()
        if row is None:
            NumberSequence.objects.bulk_create(
                [NumberSequence(prefix=prefix, period=period, last_value=0)], ignore_conflicts=True
            )
            cursor.execute(sql, [prefix, period])
            row = cursor.fetchone()
        return row[0]


def next_number(prefix: str, period: str = "", width: int = 3) -> str:
    """``prefix + period + value``, value zero-padded to ``width`` and growing past it."""
    return f"{prefix}{period}{next_value(prefix, period):0{width}d}"
