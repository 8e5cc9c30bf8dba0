"""Writes that leave a trail: history attributed to the acting user, optimistic versions.

Services in every app save domain rows through ``save_attributed`` so django-simple-history
records who made the change even outside a web request (imports, CLI, jobs), and check the
``version`` a client read with ``check_version`` (HTTP 409 on a stale one).
"""

from kefu.core.errors import Conflict


def save_attributed(obj, actor, *, at=None, **save_kwargs):
    """Save ``obj``; its history row names ``actor`` and, if given, the business time ``at``."""
    obj._history_user = actor
    if at is not None:
        obj._history_date = at
    obj.save(**save_kwargs)
    return obj


def check_version(obj, given, message):
    """Conflict when the client's ``given`` version is not the stored one. ``message`` takes
    %(current)s and %(given)s."""
    if given is not None and int(given) != obj.version:
        raise Conflict(str(message) % {"current": obj.version, "given": given})
