"""The bulk generator behind `kefu demo --tickets N` (benchmark data): what it writes, that the
services carry on after it, that an interrupted run continues, and that a seed gives the same
data every time. A few thousand tickets at most, on SQLite and PostgreSQL."""

import datetime
import random
from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max

from kefu.core import workcalendar
from kefu.core.models import NumberSequence
from kefu.customers.models import Address, Asset, Contact, Customer, Phone
from kefu.customers.queries import lookup_by_phone
from kefu.customers.services import customer_create
from kefu.demo import bulk, data
from kefu.demo.tickets import DEMO_NOW
from kefu.tickets import sla
from kefu.tickets.models import Channel, Priority, Ticket, TicketEvent, TicketType
from kefu.tickets.monitor import sla_monitor_pass
from kefu.tickets.services import ticket_create

pytestmark = pytest.mark.django_db

NOW = DEMO_NOW  # a fixed present inside the seeded working calendar
History = Ticket.history.model


@pytest.fixture(autouse=True)
def ticket_configuration(working_calendar):
    """The calendar and the default ticket configuration the migrations seed (transactional
    tests elsewhere may have flushed them)."""
    import_module("kefu.tickets.migrations.0002_default_configuration").load(apps, None)


def generate(**params):
    params = {"customers": 300, "years": 1, "seed": 7, "now": NOW, "batch": 400, **params}
    return bulk.generate(**params)


def fingerprint():
    """The generated data by natural keys (ids depend on what the database handed out)."""
    tickets = list(
        Ticket.objects.order_by("number").annotate(events_n=Count("events")).values_list(
            "number", "customer__number", "asset__serial", "contact__name", "owner__username",
            "status", "priority__code", "channel__code", "subject", "created_at", "response_due_at",
            "resolve_due_at", "resolve_warn_at", "sla_breached_at", "closed_at", "events_n"))
    customers = list(Customer.objects.order_by("number").values_list("number", "name", "kind",
                                                                        "region__code", "created_at"))
    phones = sorted((p.customer.number, p.number) for p in Phone.objects.select_related("customer"))
    return tickets, customers, phones


def wipe():
    """Remove the generated data and every number sequence (the staff stay)."""
    TicketEvent.objects.all().delete()
    Ticket.objects.all().delete()
    History.objects.all().delete()
    Asset.objects.all().delete()
    Phone.objects.all().delete()
    Address.objects.all().delete()
    Contact.objects.all().delete()
    Customer.objects.all().delete()
    NumberSequence.objects.all().delete()
    stat = getattr(import_module("kefu.tickets.models"), "TicketStat", None)
    if stat is not None:
        stat.objects.all().delete()


def test_a_generated_desk_has_years_of_tickets_in_every_status_with_consistent_deadlines():
    summary = generate(tickets=2000, customers=400)
    assert summary.complete and summary.tickets == 2000 and summary.customers == 400
    tickets = Ticket.objects.all()
    assert tickets.count() == 2000
    assert Customer.objects.count() == 400
    assert History.objects.filter(history_type="+").count() == 2000
    assert set(tickets.values_list("status", flat=True)) == set(Ticket.Status.values)
    for model in (TicketType, Channel, Priority):
        field = {TicketType: "ticket_type", Channel: "channel", Priority: "priority"}[model]
        assert set(tickets.values_list(field, flat=True)) == set(model.objects.values_list("pk", flat=True))

    # Spread over the year before the present, nothing after it; old tickets are closed.
    assert not tickets.filter(created_at__gte=NOW).exists()
    assert tickets.filter(created_at__lt=NOW - datetime.timedelta(days=300)).exists()
    old = tickets.filter(created_at__lt=NOW - datetime.timedelta(days=60))
    assert old.filter(status="closed").count() > 0.95 * old.count()
    for field in ("resolved_at", "closed_at", "on_hold_since", "first_responded_at", "updated_at",
                  "sla_breached_at", "sla_warned_at", "response_breached_at"):
        assert not tickets.filter(**{f"{field}__gt": NOW}).exists(), field
    assert not TicketEvent.objects.filter(at__gt=NOW).exists()
    open_tickets = tickets.filter(status__in=Ticket.OPEN_STATUSES)
    assert open_tickets.filter(resolve_due_at__lt=NOW).exists()  # overdue
    assert tickets.filter(sla_breached_at__isnull=False, status="closed").exists()

    # The state machine's invariants, as the demo desk keeps them.
    assert not tickets.filter(status="in_progress", owner__isnull=True).exists()
    assert not tickets.filter(status__in=["new", "unassigned"], owner__isnull=False).exists()
    assert not tickets.filter(status="closed").exclude(events__verb="closed").exists()
    assert not tickets.filter(status="closed", closed_at__isnull=True).exists()
    assert not tickets.filter(status="on_hold", on_hold_since__isnull=True).exists()
    assert not tickets.filter(status__in=["resolved", "awaiting_callback"]).exclude(
        events__verb="resolved").exists()
    for ticket in tickets.filter(asset__isnull=False).select_related("asset")[:200]:
        assert ticket.asset.customer_id == ticket.customer_id
    assert tickets.filter(reopen_count__gt=0).exists()
    assert tickets.filter(escalation_tier__gt=1).exists()

    # Events: every ticket has its intake event, 1–8 in all, with the services' verbs.
    per_ticket = dict(TicketEvent.objects.values_list("ticket").annotate(n=Count("id")).order_by())
    assert len(per_ticket) == 2000
    assert min(per_ticket.values()) >= 1 and max(per_ticket.values()) <= 16
    assert 4 <= sum(per_ticket.values()) / 2000 <= 9
    assert TicketEvent.objects.filter(verb="created").count() == 2000
    verbs = set(TicketEvent.objects.values_list("verb", flat=True))
    assert {"created", "assigned", "queued", "claimed", "note", "held", "resumed", "resolved",
            "confirmed", "closed", "reopened", "sla_breached"} <= verbs
    assert TicketEvent.objects.filter(verb="note", customer_visible=True,
                                      expected_completion_at__isnull=False).exists()

    # Deadlines: warned before due, due after intake; exactly the services' arithmetic for the
    # tickets whose clock never moved (no hold, no reopen).
    assert not tickets.filter(resolve_warn_at__gt=F("resolve_due_at")).exists()
    assert not tickets.filter(resolve_due_at__lte=F("created_at")).exists()
    assert not tickets.filter(response_due_at__lte=F("created_at")).exists()
    steady = tickets.exclude(events__verb__in=["resumed", "reopened"]).select_related("sla_policy")
    checked = 0
    for ticket in steady.order_by("?")[:150]:
        policy, start = ticket.sla_policy, ticket.created_at
        assert ticket.response_due_at == sla.response_due(policy, start), ticket.number
        assert ticket.resolve_due_at == sla.resolve_due(policy, start), ticket.number
        assert ticket.resolve_warn_at == sla.warn_at(policy, start, ticket.resolve_due_at), ticket.number
        checked += 1
    assert checked == 150

    # Every reference points at a row (PostgreSQL writes without the per-row key checks).
    for model in (Ticket, TicketEvent, Customer, Contact, Phone, Address, Asset):
        for field in model._meta.concrete_fields:
            if field.is_relation and field.db_constraint:
                parents = field.related_model.objects.values("pk")
                orphans = model.objects.exclude(**{f"{field.attname}__isnull": True}).exclude(
                    **{f"{field.attname}__in": parents})
                assert not orphans.exists(), (model.__name__, field.name)

    # The daily counts behind the status × type × month report add up.
    stats = pytest.importorskip("kefu.tickets.stats")
    assert stats.stored_counts() == stats.live_counts()

    # The SLA monitor has nothing to catch up on at the present.
    assert sla_monitor_pass(now=NOW) == {"warned": 0, "breached": 0, "response_breached": 0,
                                         "handoff_breached": 0}


def test_numbers_are_unique_per_month_in_time_order_and_the_services_continue_after_them():
    generate(tickets=600, customers=120)
    rows = list(Ticket.objects.order_by("created_at", "pk").values_list("number", "created_at"))
    numbers = [n for n, _c in rows]
    assert len(set(numbers)) == 600
    for number, created in rows:
        local = created.astimezone(DEMO_NOW.tzinfo)
        assert number.startswith(f"CS{local:%Y%m}")
    by_month = {}
    for number in numbers:  # in time order, each month counts 1, 2, 3 …
        by_month.setdefault(number[:8], []).append(int(number[8:]))
    for values in by_month.values():
        assert values == list(range(1, len(values) + 1))
    customers = list(Customer.objects.values_list("number", flat=True))
    assert len(set(customers)) == 120 and all(n.startswith("KH") for n in customers)

    agent = get_user_model().objects.get(username="agent")
    customer = Customer.objects.order_by("pk").first()
    month = f"{NOW:%Y%m}"
    last = max(int(n[8:]) for n in numbers if n[2:8] == month)
    ticket = ticket_create(actor=agent, customer=customer, channel=Channel.objects.get(code="phone"),
                           ticket_type=TicketType.objects.get(code="fault"),
                           priority=Priority.objects.get(code="normal"), subject="打印机卡纸", now=NOW)
    assert ticket.number == f"CS{month}{last + 1:03d}"
    assert ticket.pk > Ticket.objects.exclude(pk=ticket.pk).aggregate(m=Max("pk"))["m"]
    new_customer = customer_create(actor=agent, name="新客户", phones=["13300000001"])
    assert new_customer.number not in customers
    assert new_customer.pk > max(Customer.objects.exclude(pk=new_customer.pk).values_list("pk", flat=True))


def test_phones_are_found_by_their_blind_index():
    generate(tickets=200, customers=150)
    agent = get_user_model().objects.get(username="agent")
    marker = bulk.info()
    assert marker["tickets"] == 200 and marker["customers"] == 150 and marker["seed"] == 7
    for i in (0, 1, 77, 149):
        found = lookup_by_phone(agent, bulk.customer_phone(i, seed=7))
        assert [c.pk for c in found] == [marker["pk-customer"] + i]
    # Formatted as a caller would type it, and the second numbers (mobiles and landlines) too.
    first = bulk.customer_phone(5, seed=7)
    assert [c.pk for c in lookup_by_phone(agent, f"+86 {first[:3]}-{first[3:7]}-{first[7:]}")] == [
        marker["pk-customer"] + 5]
    assert Phone.objects.filter(label="landline").exists()
    for phone in Phone.objects.select_related("customer").order_by("?")[:30]:
        assert [c.pk for c in lookup_by_phone(agent, phone.number)] == [phone.customer_id]
    assert Phone.objects.count() == len({p.number_index for p in Phone.objects.all()})
    # Every customer has a primary contact with a phone, an address; some have assets.
    assert not Customer.objects.filter(phones__isnull=True).exists()
    assert not Customer.objects.filter(contacts__is_primary=True, contacts__phones__isnull=True).exists()
    assert Address.objects.count() == 150
    assert Customer.objects.filter(assets__isnull=False).distinct().count() > 60
    person = Customer.objects.filter(party_type="person").first()
    assert len(person.id_number) == 18  # decrypts with the field key


def test_an_interrupted_run_continues_where_it_stopped_without_duplicates(monkeypatch):
    first = generate(tickets=700, customers=140, stop_after=280)  # stopped at 40 %
    assert not first.complete and Ticket.objects.count() == 280
    assert bulk.info()["done-tickets"] == 280

    # A crash in the middle of a batch: that batch's transaction rolls back entirely.
    write = bulk._Table.write
    calls = {"n": 0}

    def failing(self, cursor, rows):
        if self.model is TicketEvent:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("power cut")
        return write(self, cursor, rows)

    monkeypatch.setattr(bulk._Table, "write", failing)
    with pytest.raises(RuntimeError, match="power cut"):
        generate(tickets=700, customers=140)
    monkeypatch.setattr(bulk._Table, "write", write)
    assert Ticket.objects.count() == 680 == bulk.info()["done-tickets"]  # 280 + one batch of 400
    assert History.objects.count() == 680
    stats = pytest.importorskip("kefu.tickets.stats")
    assert stats.stored_counts() == stats.live_counts()  # the failed batch counted nothing
    assert TicketEvent.objects.values("ticket").distinct().count() == 680

    last = generate(tickets=700, customers=140)
    assert last.complete and last.tickets_done == 20
    assert Ticket.objects.count() == 700
    assert len(set(Ticket.objects.values_list("number", flat=True))) == 700
    assert History.objects.count() == 700
    assert Customer.objects.count() == 140
    interrupted = fingerprint()
    again = generate(tickets=700, customers=140)  # complete: nothing to do
    assert again.tickets_done == 0 and Ticket.objects.count() == 700

    # The same data as one uninterrupted run with another batch size.
    wipe()
    generate(tickets=700, customers=140, batch=250)
    assert fingerprint() == interrupted


def test_the_same_seed_gives_the_same_data_another_seed_other_data():
    generate(tickets=300, customers=60)
    first = fingerprint()
    wipe()
    generate(tickets=300, customers=60)
    assert fingerprint() == first
    wipe()
    generate(tickets=300, customers=60, seed=8)
    other = fingerprint()
    assert other[0] != first[0] and other[1] != first[1]
    assert len({row[8] for row in first[0]}) > 20  # varied subjects


def test_other_parameters_on_a_generated_database_are_refused():
    generate(tickets=50, customers=10)
    with pytest.raises(bulk.GenerationError, match="tickets=50"):
        generate(tickets=60, customers=10)
    with pytest.raises(bulk.GenerationError):
        generate(tickets=50, customers=10, seed=8)
    with pytest.raises(bulk.GenerationError):
        bulk.generate(tickets=0)


def test_about_fifty_staff_across_roles_with_the_demo_password():
    generate(tickets=100, customers=20)
    User = get_user_model()
    staff = User.objects.filter(staff__isnull=False)
    assert 45 <= staff.count() <= 55
    roles = dict(staff.values_list("groups__name").annotate(n=Count("id")).order_by())
    assert roles["agent"] >= 15 and roles["engineer"] >= 15 and roles["dispatcher"] >= 3
    assert User.objects.get(username="engineer07").check_password(data.DEMO_PASSWORD)
    assert User.objects.get(username="agent").check_password(data.DEMO_PASSWORD)
    owners = set(Ticket.objects.exclude(owner=None).values_list("owner__groups__name", flat=True))
    assert {"agent", "engineer"} <= owners


def test_the_fast_calendar_matches_the_working_calendar():
    gen = bulk.Generator(tickets=10, customers=2, years=1, seed=1, anchor=int(NOW.timestamp()))
    cal, tz = gen.cal, NOW.tzinfo
    rng = random.Random(5)
    moments = [datetime.datetime(2025, 9, 30, 17, 59, tzinfo=tz), datetime.datetime(2025, 10, 8, 12, 0, tzinfo=tz),
               datetime.datetime(2026, 2, 13, 18, 0, tzinfo=tz), datetime.datetime(2026, 5, 1, 9, 0, tzinfo=tz)]
    moments += [NOW - datetime.timedelta(seconds=rng.randrange(300 * 86400)) for _ in range(150)]
    epoch, one = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC), datetime.timedelta(microseconds=1)

    def to_us(moment):
        return (moment - epoch) // one

    for moment in moments:
        for minutes in (15, 30, 120, 270, 450, 451, 1440):
            expected = workcalendar.add_working_time(moment, datetime.timedelta(minutes=minutes))
            assert cal.add(to_us(moment), minutes * 60_000_000) == to_us(expected), (moment, minutes)
        for days in (1, 2, 5):
            assert cal.add_days(to_us(moment), days) == to_us(workcalendar.add_working_days(moment, days))
        other = moment + datetime.timedelta(hours=rng.uniform(0, 200))
        assert cal.between(to_us(moment), to_us(other)) == workcalendar.working_time_between(
            moment, other) // one


def test_the_demo_command_generates_with_tickets_and_keeps_the_small_demo_otherwise():
    out = StringIO()
    call_command("demo", "--tickets", "60", "--customers", "12", "--years", "1", "--batch", "25",
                 "--seed", "3", stdout=out, verbosity=0)
    assert Ticket.objects.count() == 60 and Customer.objects.count() == 12
    assert "工单 60" in out.getvalue()
    call_command("demo", "--tickets", "60", "--customers", "12", "--years", "1", "--seed", "3",
                 stdout=out, verbosity=0)
    assert Ticket.objects.count() == 60
    with pytest.raises(CommandError):
        call_command("demo", "--tickets", "70", "--customers", "12", "--years", "1", stdout=out,
                     verbosity=0)
    with pytest.raises(CommandError):
        call_command("demo", "--years", "2", stdout=out)
