"""Configuration rows by code (channels, types, priorities, service modes, departments), read
once per process and kept for CACHE_SECONDS: the API takes tickets in by code and must not
spend a query per code on rows that change a few times a year. A save or delete in this
process clears the cache at once (signals in apps.py); other processes within the TTL."""

import time

CACHE_SECONDS = 60
_cache = {}


def clear(**_kwargs):
    _cache.clear()


def _entry(model):
    entry = _cache.get(model)
    now = time.monotonic()
    if entry is None or now - entry[0] > CACHE_SECONDS:
        rows = list(model.objects.all())
        entry = (now, {row.code: row for row in rows}, {row.pk: row for row in rows})
        _cache[model] = entry
    return entry


def _rows(model):
    return _entry(model)[1]


def by_pk(model, pk):
    """The row with ``pk`` (active or not: a ticket keeps its retired type), or None."""
    if pk is None:
        return None
    row = _entry(model)[2].get(pk)
    if row is None:
        clear()  # a row newer than the cache: read again once
        row = _entry(model)[2].get(pk)
    return row


def by_code(model, code, *, active_only=True):
    """The row with ``code`` (active ones only unless told), or None."""
    row = _rows(model).get(code)
    if row is None or (active_only and not getattr(row, "is_active", True)):
        return None
    return row


def models():
    from kefu.accounts.models import Department
    from kefu.tickets.models import Channel, Priority, ServiceMode, TicketType

    return (Channel, TicketType, Priority, ServiceMode, Department)
