"""SQL built once per process for the statements every request runs.

Django builds the SQL of a queryset afresh on every evaluation: resolving the lookups, the
joins of ``select_related``, the ordering and some fifty column names of a ticket. For a
lookup by key that costs 0.5–3 ms of Python for well under 0.1 ms in the database. An API
intake ran five such statements (the token, the customer in scope, the idempotency key, the
ticket and its event rows), a page request one (the session's user).

``Compiled`` keeps the SQL of a read and the machinery to turn its rows into model instances;
``insert`` keeps the INSERT of a model. Both stay on Django's own pieces (field preparation,
converters, ``from_db``, related populators), so the objects are the ones the ORM would give.
"""

import threading

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models.query import get_related_populators
from django.db.models.signals import post_save, pre_save

MAX_PLANS = 2000  # per Compiled: the scope keys of a few thousand staff
EMPTY = {"empty": True}  # the plan of a queryset that can match nothing


class SampleNotFound(LookupError):
    """A parameter's sample value is not among the compiled parameters exactly once."""


class Compiled:
    """A read whose SQL is built on first use, then run with new values.

    ``build(*context, **params)`` returns the queryset. Each keyword of ``samples`` names a
    parameter and gives a value no real call uses; the compiled statement's parameters are
    searched for it, and that slot takes the caller's value on each run. So a parameter must
    reach the database unchanged: an int or a str compared with ``=`` (not ``icontains``, not
    a date). ``context`` (say the user whose scope filters the rows) shapes the SQL; ``key``
    must then tell those shapes apart, since one plan is kept per key (Kefu has one database;
    a plan runs on the database its queryset was built for).

        tokens = Compiled(lambda digest: ApiToken.objects.filter(digest=digest)[:1],
                          digest="<sample>")
        token = tokens.first(digest=ApiToken.hash(raw))
    """

    def __init__(self, build, **samples):
        if not samples or "key" in samples:
            raise TypeError("Compiled needs sample parameters, none of them named key")
        self.build, self.samples = build, samples
        self._plans = {}
        self._lock = threading.Lock()
        _all.append(self)

    def _plan(self, key, context):
        queryset = self.build(*context, **self.samples)
        db = queryset.db
        compiler = queryset.query.get_compiler(using=db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # .none(): no statement, never a row
            return self._keep(key, EMPTY)
        params = list(params)
        slots = []
        for name, sample in self.samples.items():
            found = [i for i, p in enumerate(params) if type(p) is type(sample) and p == sample]
            if len(found) != 1:
                raise SampleNotFound(
                    f"{name}={sample!r} appears {len(found)} times in the parameters of {sql}")
            slots.append((found[0], name))
        klass_info, select = compiler.klass_info, compiler.select
        if klass_info is None or compiler.annotation_col_map or queryset._known_related_objects:
            raise TypeError("Compiled reads model instances only (no values(), no annotations)")
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        fields = [s[0] for s in select[:compiler.col_count]]
        plan = {
            "db": db, "sql": sql, "params": params, "slots": slots, "model": klass_info["model"],
            "start": start, "end": end,
            "init_list": [f[0].target.attname for f in select[start:end]],
            "populators": get_related_populators(klass_info, select, db),
            "converters": compiler.get_converters(fields), "compiler": compiler,
        }
        return self._keep(key, plan)

    def _keep(self, key, plan):
        with self._lock:
            if len(self._plans) >= MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def fetch(self, *context, key=(), **values):
        """Every row as a model instance (with its ``select_related`` objects)."""
        plan = self._plans.get(key) or self._plan(key, context)
        if plan is EMPTY:
            return []
        params = plan["params"].copy()
        for index, name in plan["slots"]:
            params[index] = values[name]
        db = plan["db"]
        with connections[db].cursor() as cursor:
            cursor.execute(plan["sql"], params)
            rows = cursor.fetchall()
        if not rows:
            return []
        if plan["converters"]:
            rows = plan["compiler"].apply_converters(rows, plan["converters"])
        model, init_list, start, end = plan["model"], plan["init_list"], plan["start"], plan["end"]
        populators = plan["populators"]
        objects = []
        for row in rows:
            obj = model.from_db(db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects

    def first(self, *context, key=(), **values):
        """The first row, or None. Slice the queryset (``[:1]``) and order it when more than
        one row can match: ``first`` only takes the head of what the statement returns."""
        rows = self.fetch(*context, key=key, **values)
        return rows[0] if rows else None

    def clear(self):
        self._plans.clear()


_all = []


def clear_all(**_kwargs):
    """Forget every kept plan (the test suite does, between tests: keys such as a user's
    access version repeat once a test's rows are rolled back)."""
    for compiled in _all:
        compiled.clear()


_statements = {}


def _statement(model, connection):
    """(INSERT sql, its fields, whether it returns the primary key) for ``model``, built once
    per model and database."""
    key = (model, connection.alias)
    if key not in _statements:
        pk = model._meta.pk
        fields = [f for f in model._meta.local_concrete_fields
                  if not (f.primary_key and f.db_returning)]
        quote = connection.ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)))
        returning = pk.db_returning and connection.features.can_return_columns_from_insert
        if returning:
            sql += " RETURNING " + quote(pk.column)
        _statements[key] = (sql, fields, returning)
        _prepared[key] = [(f, _keeps_none(f, connection)) for f in fields]
    return _statements[key]


_prepared = {}  # per statement: each field and whether it keeps None as None (_params)


def _keeps_none(field, connection):
    """Whether the field sends None to the database as None (SQL NULL), so that preparing a
    None can be skipped: a new ticket leaves most of its forty-odd columns empty, and each
    date column's preparation is five calls deep. Asked of the field itself, once."""
    try:
        return field.get_db_prep_save(None, connection) is None
    except Exception:  # noqa: BLE001 - a field that refuses None is prepared every time
        return False


def _params(obj, model, connection):
    """The INSERT's parameters for a new ``obj``: each field's ``pre_save`` and, unless it is a
    None the field keeps as None, its ``get_db_prep_save``."""
    params = []
    for field, keeps_none in _prepared[(model, connection.alias)]:
        value = field.pre_save(obj, True)
        params.append(None if value is None and keeps_none else field.get_db_prep_save(value, connection))
    return params


def _execute(model, connection, sql, params, returning):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            return cursor.fetchone()[0]
        if model._meta.pk.db_returning:
            return connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    return None


def insert_row(model, row, *, using):
    """INSERT one row of ``model`` from ``{attname: value}`` (missing fields take their
    default), with no model instance: for rows nothing reads back, like history rows.
    Returns the new primary key."""
    connection = connections[using]
    sql, fields, returning = _statement(model, connection)
    params = [f.get_db_prep_save(row[f.attname] if f.attname in row else f.get_default(), connection)
              for f in fields]
    return _execute(model, connection, sql, params, returning)


_plain_models = {}


def _plain(model):
    """Whether a new row of ``model`` is one INSERT of its own columns with only the primary
    key generated by the database: no parent tables, no database defaults or generated
    columns to read back."""
    if model not in _plain_models:
        meta = model._meta
        _plain_models[model] = (
            not meta.parents and not meta.proxy and not meta.auto_created and meta.pk.db_returning
            and not any(f.db_returning for f in meta.local_concrete_fields if not f.primary_key))
    return _plain_models[model]


def insert_new(obj, *, using=None):
    """What ``Model.save()`` does for a new ``obj``, with the INSERT built once per model and
    database: related fields checked, ``pre_save`` sent, each field's ``pre_save``
    (``auto_now_add``) and ``get_db_prep_save`` (dates, JSON, decimals, encrypted text), the
    primary key read back, the instance marked saved, ``post_save`` sent (created=True).

    For a model's own ``save()`` to call when adding (it still runs its own logic around it).
    Returns False, having done nothing, when the row is not that simple (``_plain``) or the
    object already has a primary key: the caller saves it the ORM's way."""
    model = type(obj)
    if not obj._state.adding or obj.pk is not None or not _plain(model):
        return False
    using = using or router.db_for_write(model, instance=obj)
    obj._prepare_related_fields_for_save(operation_name="save")
    pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    connection = connections[using]
    sql, fields, returning = _statement(model, connection)
    params = _params(obj, model, connection)
    value = _execute(model, connection, sql, params, returning)
    setattr(obj, model._meta.pk.attname, value)
    obj._state.adding = False
    obj._state.db = using
    post_save.send(sender=model, instance=obj, created=True, update_fields=None, raw=False,
                   using=using)
    return True


def insert(obj, *, using=None):
    """Save a new ``obj`` (``insert_new``), or through ``obj.save()`` when its model has a
    ``save()`` of its own or the row is not plain. Returns ``obj``."""
    from django.db.models import Model

    if type(obj).save is not Model.save or not insert_new(obj, using=using):
        obj.save(using=using)
    return obj
