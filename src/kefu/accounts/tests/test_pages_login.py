"""Logging in and out, the lockout after repeated failures, changing the password, and the
working-calendar warning on the home page and the admin index."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from kefu.conftest import PASSWORD
from kefu.core.models import CalendarDay

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
# The day the calendar warning matters: chinesecalendar knows 2026, next year is not out yet.
LATE_NOVEMBER = datetime.datetime(2026, 11, 23, 10, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))


def log_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def is_logged_in(client):
    response = client.get("/")
    return response.status_code == 200


# --- login and logout --------------------------------------------------------------------------

def test_it_logs_in_and_lands_on_the_home_page(agent):
    client = Client()
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = client.get(response["Location"])
    assert home.status_code == 200
    assert "王丽" in home.content.decode()


def test_it_goes_on_to_the_page_asked_for(agent):
    response = Client().post(LOGIN + "?next=/customers/", {"username": "alice",
                                                           "password": PASSWORD,
                                                           "next": "/customers/"})
    assert response["Location"] == "/customers/"


def test_it_does_not_follow_a_next_to_another_site(agent):
    response = Client().post(LOGIN, {"username": "alice", "password": PASSWORD,
                                     "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def test_a_wrong_password_shows_an_error_and_keeps_the_user_name(agent):
    client = Client()
    response = log_in(client, "alice", "not-the-password")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    body = response.content.decode()
    assert 'class="alert alert-danger"' in body
    assert 'value="alice"' in body
    assert not is_logged_in(client)


def test_five_failures_lock_the_account_even_against_the_right_password(agent):
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "guess")
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert 'id="locked"' in response.content.decode()
    assert not is_logged_in(client)


def test_four_failures_do_not_lock_and_a_success_resets_the_count(agent):
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "guess")
    assert log_in(client, "alice", PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "guess")
    assert log_in(client, "alice", PASSWORD).status_code == 302


def test_one_locked_user_does_not_lock_another(agent, supervisor):
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "guess")
    assert log_in(client, "sam", PASSWORD).status_code == 302


def test_logging_out_ends_the_session(agent):
    client = Client()
    log_in(client, "alice", PASSWORD)
    assert is_logged_in(client)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert not is_logged_in(client)
    assert client.get("/customers/")["Location"].startswith(LOGIN)


def test_logging_out_needs_a_post(agent):
    client = Client()
    log_in(client, "alice", PASSWORD)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert is_logged_in(client)


def test_the_login_page_sends_a_logged_in_user_home(agent):
    client = Client()
    client.force_login(agent)
    assert client.get(LOGIN)["Location"] == reverse("home")


# --- password ----------------------------------------------------------------------------------

NEW_PASSWORD = "Kefu-new-Secret-2027"


def test_it_changes_the_password_and_the_old_one_stops_working(agent):
    client = Client()
    log_in(client, "alice", PASSWORD)
    response = client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_done")
    assert is_logged_in(client)  # the session that changed it stays open
    assert log_in(Client(), "alice", PASSWORD).status_code == 200
    assert log_in(Client(), "alice", NEW_PASSWORD).status_code == 302


def test_a_wrong_old_password_or_a_weak_new_one_is_refused(agent):
    client = Client()
    client.force_login(agent)
    url = reverse("accounts:password_change")
    wrong = client.post(url, {"old_password": "nope", "new_password1": NEW_PASSWORD,
                              "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["old_password"]
    weak = client.post(url, {"old_password": PASSWORD, "new_password1": "12345678",
                             "new_password2": "12345678"})
    assert weak.status_code == 200
    assert weak.context["form"].errors["new_password2"]
    assert 'class="invalid-feedback d-block"' in weak.content.decode()
    assert log_in(Client(), "alice", PASSWORD).status_code == 302


def test_the_password_page_needs_a_login():
    response = Client().get(reverse("accounts:password_change"))
    assert response["Location"].startswith(LOGIN)


# --- the working-calendar warning --------------------------------------------------------------

@pytest.fixture
def late_november():
    with time_machine.travel(LATE_NOVEMBER, tick=False):
        yield


def home_of(user):
    client = Client()
    client.force_login(user)
    return client.get("/").content.decode()


@pytest.mark.parametrize("role", ["supervisor", "admin_user"])
def test_the_home_page_warns_calendar_keepers_that_next_year_is_missing(request, late_november,
                                                                        role):
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    body = home_of(request.getfixturevalue(role))
    assert body.count('id="calendar-warning"') == 1
    assert "2027" in body
    assert "kefu calendar import" in body  # the way to add a year before chinesecalendar has it


@pytest.mark.parametrize("role", ["agent", "manager", "engineer"])
def test_the_home_page_does_not_warn_people_who_cannot_fix_it(request, late_november, role):
    assert 'id="calendar-warning"' not in home_of(request.getfixturevalue(role))


def test_the_warning_goes_once_next_year_is_in_the_calendar(supervisor, late_november):
    day = datetime.date(2027, 1, 1)
    rows = []
    while day.year == 2027:
        rows.append(CalendarDay(date=day, is_workday=day.weekday() < 5, source="manual"))
        day += datetime.timedelta(days=1)
    CalendarDay.objects.bulk_create(rows)
    assert 'id="calendar-warning"' not in home_of(supervisor)


def test_the_admin_index_warns_too(admin_user, late_november):
    client = Client()
    client.force_login(admin_user)
    response = client.get("/admin/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="calendar-warning"' in body
    assert "2027" in body and "kefu calendar import" in body


def test_two_missing_years_are_one_warning_with_both(supervisor, late_november):
    CalendarDay.objects.filter(date__gte=datetime.date(2026, 12, 1)).delete()
    body = home_of(supervisor)
    assert body.count('id="calendar-warning"') == 1
    assert "2026 年的 31 天" in body
    assert "2027 年的 365 天" in body
