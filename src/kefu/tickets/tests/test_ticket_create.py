import pytest

from kefu.core.errors import ValidationFailed
from kefu.tickets import services
from kefu.tickets.models import SlaPolicy, Ticket, TicketEvent
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db


def test_it_numbers_tickets_per_month(make_ticket):
    assert make_ticket(now="2026-11-23 10:00").number == "CS202611001"
    assert make_ticket(now="2026-11-23 10:05").number == "CS202611002"
    assert make_ticket(now="2026-12-01 10:00").number == "CS202612001"


def test_a_normal_fault_gets_working_calendar_deadlines(make_ticket):
    ticket = make_ticket(now="2026-11-20 17:50")
    assert ticket.response_due_at == at("2026-11-23 09:20")
    assert ticket.resolve_due_at == at("2026-11-23 17:50")
    assert ticket.sla_policy.name == "普通·技术故障"


def test_an_urgent_fault_runs_on_the_natural_clock(make_ticket):
    ticket = make_ticket(now="2026-11-21 22:00", priority="urgent")  # Saturday night
    assert ticket.response_due_at == at("2026-11-21 22:15")
    assert ticket.resolve_due_at == at("2026-11-22 02:00")


def test_a_low_priority_suggestion_has_two_working_days_across_national_day(make_ticket):
    ticket = make_ticket(now="2025-09-30 10:00", priority="low", kind="consult")
    assert ticket.response_due_at == at("2025-10-10 10:00")


def test_a_customer_kind_policy_wins_over_the_general_one(make_ticket, config):
    SlaPolicy.objects.create(
        name="VIP 普通故障", priority=config["normal"], technical=True, customer_kind="vip",
        response_amount=10, response_unit="minutes", resolve_amount=4, resolve_unit="hours",
    )
    ticket = make_ticket(now="2026-11-23 10:00")  # the cast's customer is a VIP
    assert ticket.sla_policy.name == "VIP 普通故障"
    assert ticket.response_due_at == at("2026-11-23 10:10")


def test_the_same_idempotency_key_ten_times_creates_one_ticket(make_ticket):
    tickets = {make_ticket(idempotency_key="wechat-msg-42").pk for _ in range(10)}
    assert len(tickets) == 1
    assert Ticket.objects.count() == 1


def test_a_blank_subject_is_refused_and_nothing_is_stored(agent, customer, config):
    with pytest.raises(ValidationFailed) as info:
        services.ticket_create(actor=agent, customer=customer, channel=config["phone"],
                               ticket_type=config["fault"], priority=config["normal"], subject=" ")
    assert info.value.fields["subject"] == [services.SUBJECT_REQUIRED]
    assert not Ticket.objects.exists()


def test_the_asset_must_belong_to_the_customer(make_ticket, west_customer, agent):
    from kefu.customers.services import asset_create

    other = asset_create(actor=agent, customer=west_customer, product_model="X")
    with pytest.raises(ValidationFailed):
        make_ticket(asset=other)


def test_warranty_is_taken_from_the_asset_and_an_event_and_history_are_written(make_ticket, customer, agent):
    ticket = make_ticket(asset=customer.assets.get())
    assert ticket.in_warranty is True
    assert TicketEvent.objects.get(ticket=ticket).verb == "created"
    assert ticket.history.get().history_user == agent


def test_active_policies_are_read_once_and_a_policy_edit_clears_the_cache(
        agent, customer, config, django_assert_num_queries):
    from kefu.tickets import sla

    sla.select_policy(priority=config["normal"], technical=True, customer_kind=customer.kind)
    with django_assert_num_queries(0):
        chosen = sla.select_policy(priority=config["normal"], technical=True, customer_kind=customer.kind)
    chosen.resolve_amount = 3
    chosen.save()  # the admin edits the policy: the next intake sees it
    with django_assert_num_queries(1):
        again = sla.select_policy(priority=config["normal"], technical=True, customer_kind=customer.kind)
    assert again.pk == chosen.pk and again.resolve_amount == 3


def test_a_new_ticket_takes_the_fast_insert_and_still_counts_its_day(make_ticket, monkeypatch):
    """Ticket.save adds a new ticket with insert_new (checked by spying on it) and keeps the
    daily count (TicketStat) in step, as before."""
    from kefu.tickets import models as ticket_models
    from kefu.tickets.models import Ticket, TicketStat

    calls = []
    real = ticket_models.insert_new

    def spy(obj, **kwargs):
        calls.append(type(obj))
        return real(obj, **kwargs)

    monkeypatch.setattr(ticket_models, "insert_new", spy)
    ticket = make_ticket()
    assert calls == [Ticket]
    fresh = Ticket.objects.get(pk=ticket.pk)
    for field in Ticket._meta.concrete_fields:
        assert getattr(fresh, field.attname) == getattr(ticket, field.attname), field.name
    stat = TicketStat.objects.get(ticket_type=ticket.ticket_type, status=ticket.status)
    assert stat.count == 1


def test_intake_reads_and_works_out_deadlines_before_its_write_transaction(make_ticket, monkeypatch):
    """The key's earlier ticket, the policy and the working-calendar deadlines are settled
    outside the transaction that numbers and writes the ticket (on SQLite the database's one
    write lock, which concurrent intakes queue for); the number is taken inside it."""
    from django.db import connection

    from kefu.tickets import sla

    depth = {}

    def spy(name, real):
        def call(*args, **kwargs):
            depth.setdefault(name, len(connection.atomic_blocks))
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(services, "next_number", spy("number", services.next_number))
    monkeypatch.setattr(sla, "resolve_due", spy("deadline", sla.resolve_due))
    monkeypatch.setattr(sla, "select_policy", spy("policy", sla.select_policy))
    monkeypatch.setattr(services._by_idempotency_key, "first",
                        spy("key", services._by_idempotency_key.first))
    ticket = make_ticket(idempotency_key="app-order-7")
    outside = depth["number"] - 1  # the test's own transaction, and any caller's
    assert depth["key"] == depth["policy"] == depth["deadline"] == outside
    assert ticket.number and ticket.resolve_due_at is not None
    assert make_ticket(idempotency_key="app-order-7").pk == ticket.pk


def test_an_intake_refused_for_its_policy_opens_no_write_transaction(make_ticket, config, monkeypatch):
    """No matching SLA policy: refused before the number is taken, nothing stored."""
    from django.db import connection

    SlaPolicy.objects.filter(priority=config["normal"]).update(is_active=False)
    from kefu.tickets import sla

    sla.clear_policy_cache()
    began = []
    real = services._take_in
    monkeypatch.setattr(services, "_take_in", lambda *a, **k: began.append(len(connection.atomic_blocks)) or real(*a, **k))
    with pytest.raises(ValidationFailed):
        make_ticket()
    assert began == [] and not Ticket.objects.exists()
