"""The demo data set: the cast, regions, customers with assets and a living ticket desk, loaded
once; a second `make run` keeps what is there; every demo user logs in with the printed
password."""

import datetime
import random
from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from kefu.accounts.models import Department, Region, Skill, StaffProfile
from kefu.accounts.roles import role_of
from kefu.customers.models import Address, Asset, Customer, CustomerEvent, Phone, Tag
from kefu.demo import data
from kefu.demo import tickets as demo_tickets
from kefu.demo.tickets import DEMO_NOW, SPAN_DAYS
from kefu.tickets.models import Channel, Priority, Ticket, TicketEvent, TicketType

pytestmark = pytest.mark.django_db

MODELS = [get_user_model(), StaffProfile, Region, Department, Skill, Customer, Phone, Address,
          Asset, Tag, CustomerEvent, Ticket, TicketEvent, Ticket.history.model]


@pytest.fixture(autouse=True)
def ticket_configuration(working_calendar):
    """The calendar and the default ticket configuration the migrations seed (transactional
    tests elsewhere may have flushed them)."""
    import_module("kefu.tickets.migrations.0002_default_configuration").load(apps, None)


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_it_loads_the_cast_the_regions_and_customers_with_assets():
    assert data.load(customers=20) is True
    User = get_user_model()
    for username, name, _no, role, *_rest in data.CAST:
        user = User.objects.get(username=username)
        assert user.staff.display_name == name
        assert role_of(user) == role
    assert set(Region.objects.values_list("code", flat=True)) == {c for c, _n in data.REGIONS}
    assert Customer.objects.count() == 20
    assert not Customer.objects.filter(assets__isnull=True).exists()
    assert not Customer.objects.filter(phones__isnull=True).exists()
    engineer = User.objects.get(username="engineer")
    assert list(engineer.staff.regions.values_list("code", flat=True)) == ["east"]


def test_a_second_load_returns_false_and_changes_nothing():
    assert data.load(customers=20) is True
    before = counts()
    assert data.load(customers=20) is False
    assert data.load(customers=50) is False
    assert counts() == before


def test_the_demo_command_twice_keeps_the_data():
    out = StringIO()
    call_command("demo", "--customers", "5", stdout=out)
    before = counts()
    call_command("demo", "--customers", "5", stdout=out)
    assert counts() == before
    assert "演示数据已存在" in out.getvalue()
    assert data.DEMO_PASSWORD in out.getvalue()


@pytest.mark.parametrize("username", [row[0] for row in data.CAST])
def test_every_demo_user_logs_in_with_the_demo_password(username):
    data.load(customers=3)
    client = Client()
    response = client.post("/accounts/login/", {"username": username,
                                                "password": data.DEMO_PASSWORD})
    assert response.status_code == 302, response.content
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_the_demo_admin_opens_the_admin():
    data.load(customers=3)
    client = Client()
    client.post("/accounts/login/", {"username": "admin", "password": data.DEMO_PASSWORD})
    assert client.get("/admin/").status_code == 200


def test_the_desk_has_tickets_in_every_status_some_overdue_some_due_soon():
    assert data.load(customers=20, tickets=40) is True
    tickets = Ticket.objects.all()
    assert tickets.count() == 40
    assert set(tickets.values_list("status", flat=True)) == set(Ticket.Status.values)
    assert set(tickets.values_list("channel", flat=True)) == set(
        Channel.objects.values_list("pk", flat=True))
    assert set(tickets.values_list("ticket_type", flat=True)) == set(
        TicketType.objects.values_list("pk", flat=True))
    assert set(tickets.values_list("priority", flat=True)) == set(
        Priority.objects.values_list("pk", flat=True))
    open_tickets = tickets.filter(status__in=Ticket.OPEN_STATUSES)
    assert open_tickets.filter(resolve_due_at__lt=DEMO_NOW).exists()  # overdue
    assert open_tickets.filter(  # due within the next hours
        resolve_due_at__gte=DEMO_NOW, resolve_due_at__lt=DEMO_NOW + datetime.timedelta(hours=24),
    ).exists()
    # Spread over the weeks before the demo today, nothing after it.
    assert not tickets.filter(created_at__gte=DEMO_NOW).exists()
    weeks_ago = DEMO_NOW - datetime.timedelta(days=SPAN_DAYS // 2)
    assert tickets.filter(created_at__lt=weeks_ago).exists()
    for field in ("resolved_at", "closed_at", "on_hold_since"):
        assert not tickets.filter(**{f"{field}__gte": DEMO_NOW}).exists(), field
    assert not tickets.filter(status="in_progress", owner__isnull=True).exists()
    assert not tickets.filter(status__in=["new", "unassigned"], owner__isnull=False).exists()
    assert tickets.filter(reopen_count__gt=0).exists()
    assert tickets.filter(chase_count__gt=0).exists()
    assert tickets.filter(escalation_tier__gt=1).exists()
    assert tickets.filter(asset__isnull=False).exists()
    for ticket in tickets.filter(asset__isnull=False).select_related("asset"):
        assert ticket.asset.customer_id == ticket.customer_id
    events = TicketEvent.objects.all()
    assert events.filter(verb="note", customer_visible=True,
                         expected_completion_at__isnull=False).exists()
    assert events.filter(verb="held").exists()
    assert events.filter(verb="claimed").exists()
    assert tickets.filter(handoff_due_at__isnull=False).exists()  # a call handed off (B6)
    assert events.filter(verb="resolved", data__compensation_kind="service").exists()
    assert not tickets.filter(status="closed").exclude(events__verb="closed").exists()
    assert not tickets.filter(status__in=["resolved", "awaiting_callback"]).exclude(
        events__verb="resolved").exists()


def test_the_desk_is_the_same_every_time():
    data.load(customers=20, tickets=0)
    customers = list(Customer.objects.order_by("pk").select_related("region")
                     .prefetch_related("assets", "contacts"))
    staff = {user.username: user for user in get_user_model().objects.all()}
    departments = {dept.code: dept for dept in Department.objects.all()}

    def desk():
        before = set(Ticket.objects.values_list("pk", flat=True))
        demo_tickets.load_tickets(rng=random.Random(7), customers=customers, staff=staff,
                                  departments=departments, families=dict(data.PRODUCTS),
                                  count=25)
        return [(t.customer_id, t.asset_id, t.subject, t.status, t.priority_id, t.owner_id,
                 t.created_at, t.resolve_due_at, t.events.count())
                for t in Ticket.objects.exclude(pk__in=before).order_by("pk")]

    first = desk()
    assert len(first) == 25
    assert first == desk()
    assert len({row[2] for row in first}) > 10  # varied subjects, not one repeated


def test_the_default_desk_size():
    assert demo_tickets.default_count(300) == 120  # `make run`
    assert data.load(customers=5) is True
    assert Ticket.objects.count() == 20
