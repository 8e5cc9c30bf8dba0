"""The demo data set: the cast, regions and customers with assets, loaded once; a second
`make run` keeps what is there; every demo user logs in with the printed password."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from kefu.accounts.models import Department, Region, Skill, StaffProfile
from kefu.accounts.roles import role_of
from kefu.customers.models import Address, Asset, Customer, CustomerEvent, Phone, Tag
from kefu.demo import data

pytestmark = pytest.mark.django_db

MODELS = [get_user_model(), StaffProfile, Region, Department, Skill, Customer, Phone, Address,
          Asset, Tag, CustomerEvent]


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
