"""Writes that leave a trail: history attributed to the acting user, optimistic versions.

Services in every app save domain rows through ``save_attributed`` so django-simple-history
records who made the change even outside a web request (imports, CLI, jobs), and check the
``version`` a client read with ``check_version`` (HTTP 409 on a stale one).
"""

from django.db import connections
from django.utils import timezone
from simple_history.models import HistoricalRecords

from kefu.core.compiled import insert_row
from kefu.core.errors import Conflict


class _AllBut(frozenset):
    """A ``no_db_index`` that names every field but these."""

    def __contains__(self, name):
        return not super().__contains__(name)


def history_records(**options):
    """``HistoricalRecords`` for a domain model, its table indexed only on the tracked row's
    id (and simple-history's own history_date and history_user).

    simple-history indexes every copied foreign key and unique column by default: 21 indexes
    on the ticket history, each written on every save, for a table read only as one object's
    history (by id). At one million tickets the history INSERT was a fifth of an intake on
    PostgreSQL (1.1 ms of 5.6)."""
    return HistoricalRecords(no_db_index=_AllBut({"id"}), **options)


def save_attributed(obj, actor, *, at=None, **save_kwargs):
    """Save ``obj``; its history row names ``actor`` and, if given, the business time ``at``.

    The history row is written here, not by django-simple-history's post_save receiver: the
    receiver builds a new history manager class per save (``inspect.getmembers`` over a
    queryset class), which cost a ticket intake about 2.5 ms. Same row, same columns.
    """
    history = _history_model(type(obj))
    if history is None:
        obj._history_user = actor
        if at is not None:
            obj._history_date = at
        obj.save(**save_kwargs)
        return obj
    adding = obj._state.adding
    obj.skip_history_when_saving = True
    try:
        obj.save(**save_kwargs)
    finally:
        del obj.skip_history_when_saving
    model, attnames = history
    using = obj._state.db or "default"
    when, kind = at or timezone.now(), "+" if adding else "~"
    user_id = actor.pk if actor is not None else None
    copy = _copy_statement(type(obj), model, connections[using])
    if copy is not None:
        # The row just saved, copied by the database: no value prepared in Python (a ticket
        # has some 50 columns: about 0.5 ms a save).
        sql, date_field = copy
        with connections[using].cursor() as cursor:
            cursor.execute(sql, [date_field.get_db_prep_save(when, connections[using]), kind,
                                 user_id, obj.pk])
        return obj
    row = {name: getattr(obj, name) for name in attnames}
    row.update(history_date=when, history_type=kind, history_user_id=user_id,
               history_change_reason=None)
    insert_row(model, row, using=using)
    return obj


_copy_statements = {}


def _copy_statement(source, model, connection):
    """``INSERT INTO <history> (…) SELECT … FROM <table> WHERE pk = %s`` for ``source`` and
    its historical ``model``, built once per database; None when a tracked column is not a
    column of the source table (history with extra fields: the row is then built in Python)."""
    key = (model, connection.alias)
    if key not in _copy_statements:
        columns = {f.column for f in source._meta.local_concrete_fields}
        tracked = [f.column for f in model._meta.local_concrete_fields if f.name not in _HISTORY_OWN]
        own = [model._meta.get_field(name).column for name in
               ("history_date", "history_type", "history_user", "history_change_reason")]
        if source._meta.parents or not set(tracked) <= columns:
            _copy_statements[key] = None
        else:
            q = connection.ops.quote_name
            listed = ", ".join(q(c) for c in tracked)
            _copy_statements[key] = (
                f"INSERT INTO {q(model._meta.db_table)} ({listed}, {', '.join(q(c) for c in own)}) "
                f"SELECT {listed}, %s, %s, %s, NULL FROM {q(source._meta.db_table)} "
                f"WHERE {q(source._meta.pk.column)} = %s",
                model._meta.get_field("history_date"))
    return _copy_statements[key]


_HISTORY_OWN = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}
_history_models = {}


def _history_model(cls):
    """(historical model, the tracked columns) of a model with HistoricalRecords, else None."""
    if cls not in _history_models:
        name = getattr(cls._meta, "simple_history_manager_attribute", None)
        if name is None:
            _history_models[cls] = None
        else:
            model = getattr(cls, name).model
            attnames = [f.attname for f in model._meta.concrete_fields if f.name not in _HISTORY_OWN]
            _history_models[cls] = (model, attnames)
    return _history_models[cls]


def check_version(obj, given, message):
    """Conflict when the client's ``given`` version is not the stored one. ``message`` takes
    %(current)s and %(given)s."""
    if given is not None and int(given) != obj.version:
        raise Conflict(str(message) % {"current": obj.version, "given": given})
