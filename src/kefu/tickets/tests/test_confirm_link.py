"""客户确认 (B9): the agent's confirmation and the customer's link /t/confirm/<token>/, opened
without logging in. Time is fixed with time_machine: the signature's timestamp and the view's
clock both follow it."""

import datetime

import pytest
import time_machine
from django.core import signing
from django.test import Client, RequestFactory

from kefu.core.errors import InvalidTransition
from kefu.tickets import confirmation, services
from kefu.tickets.confirmation import (
    LINK_EXPIRED,
    LINK_INVALID,
    LINK_REPLACED,
    ConfirmationLinkGone,
    ConfirmationLinkInvalid,
    confirmation_token,
    confirmation_url,
    read_confirmation_token,
)
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

RESOLVED_AT = at("2026-11-23 11:00")
LATER = at("2026-11-24 10:00")  # the customer opens the link the next day


@pytest.fixture(autouse=True)
def reopen_days(settings):
    settings.TICKET_REOPEN_DAYS = 7


@pytest.fixture
def resolved(make_ticket, agent, dispatcher):
    t = services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent,
                               now=at("2026-11-23 10:05"))
    return services.ticket_resolve(actor=agent, ticket=t, solution="更换搓纸轮，已试打10页",
                                   result="恢复正常", now=RESOLVED_AT)


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def link(ticket):
    return f"/t/confirm/{confirmation_token(fresh(ticket))}/"


def customer_client():
    """An anonymous browser that, like a real one, must send the CSRF token back."""
    return Client(enforce_csrf_checks=True)


def post_answer(client, url, **data):
    page = client.get(url)
    assert page.status_code == 200
    token = client.cookies["csrftoken"].value
    return client.post(url, {"csrfmiddlewaretoken": token, **data})


def snapshot(ticket):
    row = fresh(ticket)
    return row.status, row.version, row.confirmed_at, row.reopen_count, row.events.count()


# --- the agent's confirmation ------------------------------------------------------------------

def test_confirming_sets_confirmed_at(resolved, agent):
    t = services.ticket_confirm(actor=agent, ticket=resolved, how="电话回访确认",
                                now=at("2026-11-23 16:00"))
    row = fresh(t)
    assert row.status == Ticket.Status.AWAITING_CALLBACK
    assert row.confirmed_at == at("2026-11-23 16:00")
    assert row.events.get(verb="confirmed").data["how"] == "电话回访确认"


# --- the customer's link -----------------------------------------------------------------------

def test_the_customer_confirms_by_link(resolved):
    with time_machine.travel(LATER, tick=False):
        url = link(resolved)
        client = customer_client()
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert resolved.number in html and "打印机卡纸" in html and "更换搓纸轮，已试打10页" in html
        assert 'name="csrfmiddlewaretoken"' in html
        response = post_answer(client, url, answer="solved")
    assert response.status_code == 200 and 'id="confirm-done"' in response.content.decode()
    row = fresh(resolved)
    assert row.status == Ticket.Status.AWAITING_CALLBACK and row.confirmed_at == LATER
    event = row.events.get(verb="confirmed")
    assert event.actor is None and event.data["how"] == "客户通过链接确认"
    assert row.history.order_by("-history_id").first().history_user is None


def test_not_solved_reopens_with_the_customers_comment(resolved):
    with time_machine.travel(LATER, tick=False):
        response = post_answer(customer_client(), link(resolved), answer="not_solved",
                               comment="还是会卡纸")
    assert response.status_code == 200 and 'id="confirm-reopened"' in response.content.decode()
    row = fresh(resolved)
    assert row.status == Ticket.Status.IN_PROGRESS and row.reopen_count == 1
    event = row.events.get(verb="reopened")
    assert event.actor is None
    assert event.data["reason"] == "客户通过链接反馈未解决：还是会卡纸"


def test_not_solved_without_a_comment_still_reopens(resolved):
    with time_machine.travel(LATER, tick=False):
        post_answer(customer_client(), link(resolved), answer="not_solved")
    row = fresh(resolved)
    assert row.status == Ticket.Status.IN_PROGRESS
    assert row.events.get(verb="reopened").data["reason"] == "客户通过链接反馈未解决"


def test_a_post_without_the_csrf_token_is_refused(resolved):
    before = snapshot(resolved)
    with time_machine.travel(LATER, tick=False):
        response = customer_client().post(link(resolved), {"answer": "solved"})
    assert response.status_code == 403
    assert snapshot(resolved) == before


def test_an_answer_that_is_neither_button_changes_nothing(resolved):
    before = snapshot(resolved)
    with time_machine.travel(LATER, tick=False):
        response = post_answer(customer_client(), link(resolved), answer="maybe")
    assert response.status_code == 400
    assert snapshot(resolved) == before


def test_opening_the_link_changes_nothing(resolved):
    before = snapshot(resolved)
    with time_machine.travel(LATER, tick=False):
        client = customer_client()
        for _ in range(3):
            assert client.get(link(resolved)).status_code == 200
    assert snapshot(resolved) == before


def test_the_page_shows_no_personal_data(resolved, customer):
    with time_machine.travel(LATER, tick=False):
        html = customer_client().get(link(resolved)).content.decode()
    for secret in ("张三明", "138 1234 5678", "13812345678", "12345678", "世纪大道",
                   "110101199001011234", "LFX123456789", customer.number):
        assert secret not in html


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),       # the signature
    lambda token: ("x" if token[0] != "x" else "y") + token[1:],         # the payload
    lambda token: "not-a-token",
])
def test_a_tampered_token_is_refused_and_changes_nothing(resolved, tamper):
    before = snapshot(resolved)
    with time_machine.travel(LATER, tick=False):
        url = f"/t/confirm/{tamper(confirmation_token(fresh(resolved)))}/"
        client = Client()  # CSRF off: the token alone must stop the POST
        page = client.get(url)
        posted = client.post(url, {"answer": "solved"})
    assert page.status_code == 400 and str(LINK_INVALID) in page.content.decode()
    assert posted.status_code == 400
    assert snapshot(resolved) == before


def test_a_token_for_another_purpose_is_refused(resolved):
    forged = signing.dumps({"t": resolved.pk, "r": 0})  # signed with the project key, no salt
    with pytest.raises(ConfirmationLinkInvalid):
        read_confirmation_token(forged)
    assert Client().get(f"/t/confirm/{forged}/").status_code == 400


def test_an_expired_link_is_gone_and_changes_nothing(resolved):
    before = snapshot(resolved)
    with time_machine.travel(LATER, tick=False):
        url = link(resolved)
    with time_machine.travel(RESOLVED_AT + datetime.timedelta(days=7, minutes=1), tick=False):
        client = Client()
        page = client.get(url)
        posted = client.post(url, {"answer": "not_solved", "comment": "又坏了"})
    assert page.status_code == 410 and str(LINK_EXPIRED) in page.content.decode()
    assert posted.status_code == 410
    assert snapshot(resolved) == before


def test_expiry_counts_from_the_resolution(resolved):
    with time_machine.travel(LATER, tick=False):
        token = confirmation_token(fresh(resolved))
        assert read_confirmation_token(token, now=RESOLVED_AT + datetime.timedelta(days=6)).pk == resolved.pk
        with pytest.raises(ConfirmationLinkGone):
            read_confirmation_token(token, now=RESOLVED_AT + datetime.timedelta(days=7, seconds=1))


def test_a_link_from_before_a_reopen_is_dead(resolved, agent):
    with time_machine.travel(LATER, tick=False):
        old = link(resolved)
        services.ticket_reopen(actor=agent, ticket=resolved, reason="客户来电说又卡纸", now=LATER)
        response = Client().get(old)
        assert response.status_code == 410 and str(LINK_REPLACED) in response.content.decode()
        t = services.ticket_resolve(actor=agent, ticket=fresh(resolved), solution="更换定影组件",
                                    result="正常", now=LATER + datetime.timedelta(hours=2))
    with time_machine.travel(LATER + datetime.timedelta(hours=3), tick=False):
        before = snapshot(t)
        client = Client()
        assert client.get(old).status_code == 410  # still dead after the new resolution
        assert client.post(old, {"answer": "solved"}).status_code == 410
        assert snapshot(t) == before
        new = client.get(link(t))
        assert new.status_code == 200 and "更换定影组件" in new.content.decode()


def test_a_confirmed_ticket_says_it_was_handled(resolved):
    with time_machine.travel(LATER, tick=False):
        url = link(resolved)
        client = customer_client()
        post_answer(client, url, answer="solved")
        before = snapshot(resolved)
        again = client.get(url)
        assert again.status_code == 200 and 'id="confirm-handled"' in again.content.decode()
        assert 'id="confirm-form"' not in again.content.decode()
        replay = Client().post(url, {"answer": "not_solved"})
    assert replay.status_code == 409 and 'id="confirm-handled"' in replay.content.decode()
    assert snapshot(resolved) == before


def test_a_change_after_the_page_was_opened_wins(resolved, agent):
    """The agent confirms by phone while the customer's page is open: the customer's answer
    arrives on a ticket that moved on and changes nothing."""
    with time_machine.travel(LATER, tick=False):
        url = link(resolved)
        client = customer_client()
        client.get(url)
        services.ticket_confirm(actor=agent, ticket=resolved, how="电话回访")
        before = snapshot(resolved)
        response = client.post(url, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value,
                                     "answer": "not_solved"})
    assert response.status_code == 409
    assert snapshot(resolved) == before


# --- the link agents send ----------------------------------------------------------------------

def test_the_url_is_absolute_and_opens_the_page(resolved):
    with time_machine.travel(LATER, tick=False):
        url = confirmation_url(fresh(resolved), request=RequestFactory().get("/"))
        assert url.startswith("http://testserver/t/confirm/")
        assert Client().get(url.removeprefix("http://testserver")).status_code == 200


def test_without_a_request_the_url_uses_site_url(resolved, settings):
    settings.SITE_URL = "https://kefu.example.cn/"
    assert confirmation_url(fresh(resolved)).startswith("https://kefu.example.cn/t/confirm/")


def test_only_a_resolved_ticket_has_a_link(make_ticket):
    with pytest.raises(InvalidTransition) as info:
        confirmation_token(make_ticket())
    assert info.value.message == confirmation.NOT_RESOLVED
