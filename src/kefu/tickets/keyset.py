"""Keyset pages in deadline order (``TicketQuerySet.by_deadline()``: ``resolve_due_at`` ascending,
tickets without a deadline last, ``id`` breaking ties), as cheap deep in a queue as on page one.

The next page after the cursor ``(due, pk)`` was one OR (later deadline, or the same deadline and
a larger id, or no deadline), which PostgreSQL cannot use as an index bound: a deep page read
and threw away every index entry before the cursor. Here the rows with a deadline are read with
the row comparison ``(resolve_due_at, id) > (due, pk)``, an index range on ``(resolve_due_at,
id)``, and the rows without one by a second query (``resolve_due_at IS NULL``, in id order),
run only when the first one runs out before the page is full. Page one needs neither: the
index's own order (nulls last) is the page's order, so it stays the one query it always was.
"""

from django.db.models import F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLookupMixin


class RowGreaterThan(TupleGreaterThan):
    """``(a, b) > (x, y)`` as a row comparison on every backend. Django writes it as
    ``a > x OR (a = x AND b > y)`` where ``supports_tuple_lookups`` is off (SQLite), but SQLite
    has had row values since 3.15 and uses them as an index range, as PostgreSQL does."""

    def as_sqlite(self, compiler, connection):
        # Past the mixin's fallback: GreaterThan's own ``lhs > rhs`` with both sides as tuples.
        return super(TupleLookupMixin, self).as_sql(compiler, connection)


def page(qs, cursor, limit):
    """At most ``limit`` tickets of ``qs`` in ``by_deadline()`` order after ``cursor``: ``None``
    for the first page, ``(due, pk)`` of the last row shown, ``(None, pk)`` once the page is in
    the tail of tickets without a deadline. ``qs`` keeps its filters, ``defer()`` and so on; its
    ordering is replaced. Ask for one more than a page to know whether there is a next one."""
    if cursor is None:
        return list(qs.by_deadline()[:limit])
    due, pk = cursor
    rows = []
    if due is not None:
        bound = RowGreaterThan(Tuple(F("resolve_due_at"), F("pk")), (due, pk))
        rows = list(qs.filter(bound).order_by("resolve_due_at", "pk")[:limit])
        if len(rows) == limit:
            return rows
    tail = qs.filter(resolve_due_at__isnull=True)
    if due is None:
        tail = tail.filter(pk__gt=pk)
    return rows + list(tail.order_by("pk")[:limit - len(rows)])
