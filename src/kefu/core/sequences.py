"""Number sequences: CS202611001, SF202611002, KH2026000123 …

One row per (prefix, period) holds the last value. Drawing a number locks that row
(``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the IMMEDIATE transaction mode already holds
the database write lock), so concurrent callers queue and every number is handed out once.
The draw belongs to the caller's transaction: if it rolls back, the number is given back,
so committed numbers have no gaps.
"""

from django.db import transaction

from kefu.core.models import NumberSequence


def next_value(prefix: str, period: str = "") -> int:
    with transaction.atomic():
        # Create the row if this is the period's first number; a concurrent creator is harmless.
        NumberSequence.objects.bulk_create(
            [NumberSequence(prefix=prefix, period=period, last_value=0)], ignore_conflicts=True
        )
        row = NumberSequence.objects.select_for_update().get(prefix=prefix, period=period)
        row.last_value += 1
        row.save(update_fields=["last_value"])
        return row.last_value


def next_number(prefix: str, period: str = "", width: int = 3) -> str:
    """``prefix + period + value``, value zero-padded to ``width`` and growing past it."""
    return f"{prefix}{period}{next_value(prefix, period):0{width}d}"
