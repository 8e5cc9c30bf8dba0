"""Configuration rows by code (channels, types, priorities, service modes, departments, regions), read
once per process and kept for CACHE_SECONDS: the API takes tickets in by code and must not
spend a query per code on rows that change a few times a year. A save or delete in this
process clears the cache at once (signals in apps.py); other processes within the TTL. The
owners shown in ticket lists are kept the same way (``people``)."""

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


def rows(model, *, active_only=True):
    """Every row of ``model`` in its default ordering (active ones only unless told): the choices
    of the filter boxes, without a query per page."""
    return [row for row in _rows(model).values() if not active_only or getattr(row, "is_active", True)]


def by_code(model, code, *, active_only=True):
    """The row with ``code`` (active ones only unless told), or None."""
    row = _rows(model).get(code)
    if row is None or (active_only and not getattr(row, "is_active", True)):
        return None
    return row


def people(ids):
    """Users (with their staff profile) by id, for the owner column of ticket lists: kept like
    the configuration rows, so a page of tickets owned by a dozen people costs no query once
    they have been seen. Ids not yet kept are read in one query."""
    from django.contrib.auth import get_user_model

    now = time.monotonic()
    kept = _cache.setdefault("people", {})
    found, missing = {}, set()
    for pk in ids:
        entry = kept.get(pk)
        if entry is None or now - entry[0] > CACHE_SECONDS:
            missing.add(pk)
        else:
            found[pk] = entry[1]
    if missing:
        for user in (get_user_model().objects.select_related("staff").defer("staff__phone")
                     .filter(pk__in=missing)):
            kept[user.pk] = (now, user)
            found[user.pk] = user
    return found


def models():
    from kefu.accounts.models import Department, Region
    from kefu.tickets.models import Channel, Priority, ServiceMode, TicketType

    return (Channel, TicketType, Priority, ServiceMode, Department, Region)
