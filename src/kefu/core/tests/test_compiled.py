"""kefu.core.compiled: reads and inserts whose SQL is built once must give what the ORM gives."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext

from kefu.core import compiled
from kefu.core.compiled import Compiled, SampleNotFound, insert, insert_new
from kefu.customers.models import Contact, Customer, CustomerEvent

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=datetime.UTC)


def _contacts(region_id):
    return (Contact.objects.select_related("customer__region")
            .filter(customer__region_id=region_id).order_by("pk"))


def test_rows_and_their_related_objects_are_the_orms(customer, west_customer, agent):
    from kefu.customers import services

    services.customer_add_contact(actor=agent, customer=west_customer, name="李老师", phones=["13900001111"])
    services.customer_add_contact(actor=agent, customer=west_customer, name="王老师", phones=["13900002222"])
    contacts = Compiled(_contacts, region_id=-5_550_001)
    # east, west, then east again from the kept plan
    for region in (customer.region_id, west_customer.region_id, customer.region_id):
        expected = list(_contacts(region))
        with CaptureQueriesContext(connection) as queries:
            got = contacts.fetch(region_id=region)
            # select_related objects arrive with the row: reading them costs no query
            names = [(c.customer.name, c.customer.region.code) for c in got]
        assert len(queries) == 1
        assert [c.pk for c in got] == [c.pk for c in expected] and got
        for mine, theirs in zip(got, expected, strict=True):
            for field in Contact._meta.concrete_fields:
                assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
            assert not mine._state.adding and mine._state.db == "default"
        assert names == [(c.customer.name, c.customer.region.code) for c in expected]
    assert len(contacts.fetch(region_id=west_customer.region_id)) == 2
    assert contacts.first(region_id=0) is None


def test_values_are_converted_as_the_orm_converts_them(customer):
    """Aware datetimes (SQLite stores text), JSON, encrypted fields: the same Python values."""
    rows = Compiled(lambda pk: Customer.objects.filter(pk=pk), pk=-5_550_002)
    mine, theirs = rows.first(pk=customer.pk), Customer.objects.get(pk=customer.pk)
    for field in Customer._meta.concrete_fields:
        assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
    assert mine.created_at.tzinfo is not None
    assert mine.id_number == "110101199001011234"  # stored encrypted, read back in clear


def test_a_sample_that_does_not_reach_the_database_unchanged_is_refused(customer):
    """``icontains`` wraps the value in %…%: the slot cannot be found, and Compiled says so
    instead of running a statement with the sample in it."""
    by_name = Compiled(lambda text: Customer.objects.filter(notes__icontains=text), text="样本文字")
    with pytest.raises(SampleNotFound):
        by_name.fetch(text="张")


def test_a_queryset_that_matches_nothing_runs_no_statement(customer):
    nothing = Compiled(lambda user, pk: Customer.objects.visible_to(user).filter(pk=pk), pk=-5_550_003)
    from django.contrib.auth.models import AnonymousUser

    with CaptureQueriesContext(connection) as queries:
        assert nothing.fetch(AnonymousUser(), key="anonymous", pk=customer.pk) == []
    assert len(queries) == 0


def test_each_key_keeps_its_own_statement(customer, west_customer, engineer, other_region_engineer, agent):
    """The scope shapes the SQL: an east engineer, a west engineer and a desk agent each get
    what ``visible_to`` gives them, from plans kept apart by their keys."""
    from kefu.accounts.backends import access_key
    from kefu.tickets.api import customer_in_scope

    for _ in range(2):
        assert customer_in_scope(engineer, customer.pk) == customer
        assert customer_in_scope(engineer, west_customer.pk) is None
        assert customer_in_scope(other_region_engineer, customer.pk) is None
        assert customer_in_scope(other_region_engineer, west_customer.pk) == west_customer
        assert customer_in_scope(agent, west_customer.pk) == west_customer
    from kefu.tickets import api

    assert {access_key(engineer), access_key(other_region_engineer), access_key(agent)} <= set(
        api._customers._plans)


def test_a_scope_change_is_seen_on_the_next_lookup(customer, engineer, regions):
    """Moving an engineer to another region bumps their access version: a new key, a new plan."""
    from kefu.tickets.api import customer_in_scope

    assert customer_in_scope(engineer, customer.pk) == customer
    engineer.staff.regions.set([regions["west"]])
    engineer.refresh_from_db()
    assert customer_in_scope(engineer, customer.pk) is None


def test_plans_are_bounded(monkeypatch, customer):
    monkeypatch.setattr(compiled, "MAX_PLANS", 3)
    rows = Compiled(lambda pk: Customer.objects.filter(pk=pk), pk=-5_550_004)
    for key in range(7):
        assert rows.first(key=key, pk=customer.pk) == customer
        assert len(rows._plans) <= 3


def test_insert_new_saves_what_save_would_and_sends_the_signals(customer, agent):
    seen = []

    def before(sender, instance, **kwargs):
        seen.append(("pre", instance.pk, kwargs["raw"]))

    def after(sender, instance, created, **kwargs):
        seen.append(("post", instance.pk, created))

    pre_save.connect(before, sender=CustomerEvent)
    post_save.connect(after, sender=CustomerEvent)
    try:
        event = CustomerEvent(customer=customer, actor=agent, verb="called", summary="回访：满意",
                              at=AT, data={"score": 5, "说明": ["按时", "礼貌"]})
        assert insert_new(event) is True
    finally:
        pre_save.disconnect(before, sender=CustomerEvent)
        post_save.disconnect(after, sender=CustomerEvent)
    assert seen == [("pre", None, False), ("post", event.pk, True)]
    assert event.pk and not event._state.adding and event._state.db == "default"
    stored = CustomerEvent.objects.get(pk=event.pk)
    for field in CustomerEvent._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(event, field.attname), field.name
    assert stored.at == AT and stored.data == {"score": 5, "说明": ["按时", "礼貌"]}


def test_insert_new_leaves_other_rows_to_the_orm(customer, agent):
    """A row with a primary key already, or one already saved: nothing done, False."""
    event = CustomerEvent(pk=987_654, customer=customer, actor=agent, verb="x", summary="x", at=AT)
    assert insert_new(event) is False and not CustomerEvent.objects.filter(pk=987_654).exists()
    insert(event)  # insert() hands it to save()
    assert CustomerEvent.objects.filter(pk=987_654).exists()
    assert insert_new(event) is False


def test_insert_refuses_an_unsaved_related_object_as_save_does(agent):
    event = CustomerEvent(customer=Customer(name="未保存"), actor=agent, verb="x", summary="x", at=AT)
    with pytest.raises(ValueError):
        insert(event)


def test_insert_new_skips_preparing_only_the_nones_a_field_keeps(customer, agent):
    """A None is passed as is only where the field itself turns None into None: the
    parameters are the ones preparing every field gives, for a ticket with most columns empty
    and for a customer row (its encrypted column empty: a value would encrypt differently each time)."""
    from django.db import models

    from kefu.core.compiled import _keeps_none, _params, _statement
    from kefu.tickets.models import Channel, Priority, Ticket, TicketType

    ticket = Ticket(number="CS202611999999", customer=customer, subject="打印机卡纸", created_by=agent,
                    channel=Channel.objects.get(code="phone"), ticket_type=TicketType.objects.get(code="fault"),
                    priority=Priority.objects.get(code="normal"), created_at=AT, resolve_due_at=AT)
    stranger = Customer(name="张三", kind=customer.kind, region=customer.region)
    for obj in (ticket, stranger):
        _sql, fields, _returning = _statement(type(obj), connection)
        with time_machine.travel(AT, tick=False):  # auto_now columns take the same time twice
            every = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
            assert _params(obj, type(obj), connection) == every
        assert None in every  # some columns were skipped

    class NoneAsText(models.TextField):
        def get_db_prep_save(self, value, connection):
            return "" if value is None else value

    class Broken(models.TextField):
        def get_db_prep_save(self, value, connection):
            raise TypeError("no None here")

    assert _keeps_none(models.DateTimeField(null=True), connection) is True
    assert _keeps_none(NoneAsText(), connection) is False
    assert _keeps_none(Broken(), connection) is False
