"""The API tokens page: a token is shown once, stored as its SHA-256, works as a Bearer token,
and stops working when its owner revokes it; nobody else can revoke it."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from kefu.accounts.models import ApiToken
from kefu.accounts.services import TOKEN_NAME_REQUIRED

pytestmark = pytest.mark.django_db

TOKENS = "/accounts/tokens/"
API = "/api/v1/customers"


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def create_token(client, name="呼叫中心对接"):
    response = client.post(TOKENS, {"name": name})
    assert response.status_code == 200
    match = re.search(r'id="new-token">([^<]+)<', response.content.decode())
    assert match, response.content.decode()
    return response, match.group(1)


def bearer(raw):
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_it_shows_a_new_token_once_and_stores_only_its_digest(agent):
    client = logged_in(agent)
    response, raw = create_token(client)
    assert response.content.decode().count(raw) == 1
    assert "no-store" in response["Cache-Control"]
    row = ApiToken.objects.get()
    assert (row.user, row.name, row.digest) == (agent, "呼叫中心对接", ApiToken.hash(raw))
    assert re.fullmatch(r"[0-9a-f]{64}", row.digest)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        assert raw not in repr(cursor.fetchall())
    again = client.get(TOKENS).content.decode()
    assert raw not in again
    assert row.prefix in again  # listed by its prefix, to tell tokens apart


def test_the_token_authenticates_against_the_api(agent, customer):
    _response, raw = create_token(logged_in(agent))
    response = bearer(raw).get(API)
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [customer.pk]


def test_a_revoked_token_no_longer_authenticates(agent, customer):
    client = logged_in(agent)
    _response, raw = create_token(client)
    row = ApiToken.objects.get()
    response = client.post(reverse("accounts:token_revoke", args=[row.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:tokens")
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert bearer(raw).get(API).status_code == 401
    assert "已吊销" in client.get(TOKENS).content.decode()


def test_a_user_cannot_revoke_another_users_token(agent, dispatcher, customer):
    _response, raw = create_token(logged_in(agent))
    row = ApiToken.objects.get()
    response = logged_in(dispatcher).post(reverse("accounts:token_revoke", args=[row.pk]))
    assert response.status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None
    assert bearer(raw).get(API).status_code == 200


def test_the_page_lists_only_the_users_own_tokens(agent, dispatcher):
    create_token(logged_in(agent), name="alice 的令牌")
    body = logged_in(dispatcher).get(TOKENS).content.decode()
    assert "alice 的令牌" not in body


def test_a_token_without_a_name_is_refused_with_the_message(agent):
    response = logged_in(agent).post(TOKENS, {"name": "  "})
    assert response.status_code == 200
    assert str(TOKEN_NAME_REQUIRED) in response.content.decode()
    assert 'id="new-token"' not in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_needs_a_post(agent):
    create_token(logged_in(agent))
    row = ApiToken.objects.get()
    assert logged_in(agent).get(reverse("accounts:token_revoke", args=[row.pk])).status_code == 405
    row.refresh_from_db()
    assert row.revoked_at is None


def test_the_tokens_page_needs_a_login():
    assert Client().get(TOKENS)["Location"].startswith(reverse("accounts:login"))
    assert not ApiToken.objects.exists()
