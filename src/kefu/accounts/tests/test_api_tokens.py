"""API token authentication: hashed at rest, last use recorded, revocation honoured."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client

from kefu.accounts.models import ApiToken
from kefu.accounts.services import TOKEN_NAME_REQUIRED, token_create, token_revoke
from kefu.core.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"



def bearer(raw):
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_the_raw_token_is_never_stored(agent):
    row, raw = token_create(user=agent, name="呼叫中心对接")
    assert raw.startswith("kefu_") and len(raw) > 40
    assert row.digest == ApiToken.hash(raw) != raw
    assert row.prefix == raw[:12]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        dumped = repr(cursor.fetchall())
    assert raw not in dumped
    assert raw[12:] not in dumped  # not even the secret part beyond the shown prefix


def test_two_tokens_are_different(agent):
    assert token_create(user=agent, name="a")[1] != token_create(user=agent, name="b")[1]


def test_a_token_needs_a_name(agent):
    with pytest.raises(ValidationFailed) as info:
        token_create(user=agent, name="  ")
    assert info.value.fields["name"] == [TOKEN_NAME_REQUIRED]


def test_a_valid_token_authenticates_as_its_user(agent, customer):
    _row, raw = token_create(user=agent, name="test")
    response = bearer(raw).get(URL)
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [customer.pk]


def test_the_token_acts_with_its_users_permissions(manager, customer):
    _row, raw = token_create(user=manager, name="report")
    response = bearer(raw).post(f"{URL}/{customer.pk}/reveal",
                                data={"field": "id_number", "reason": "verify"},
                                content_type="application/json")
    assert response.status_code == 403


def test_last_used_at_is_recorded(agent):
    row, raw = token_create(user=agent, name="test")
    assert row.last_used_at is None
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        assert bearer(raw).get(URL).status_code == 200
    row.refresh_from_db()
    assert row.last_used_at == start


def test_last_used_at_is_written_at_most_once_a_minute(agent):
    row, raw = token_create(user=agent, name="test")
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    client = bearer(raw)
    with time_machine.travel(start, tick=False):
        client.get(URL)
    with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
        client.get(URL)
    row.refresh_from_db()
    assert row.last_used_at == start
    later = start + datetime.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        client.get(URL)
    row.refresh_from_db()
    assert row.last_used_at == later


def test_a_revoked_token_is_refused(agent):
    row, raw = token_create(user=agent, name="lost laptop")
    client = bearer(raw)
    assert client.get(URL).status_code == 200
    token_revoke(user=agent, token_id=row.pk)
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    row.refresh_from_db()
    assert row.revoked_at is not None and not row.is_active


def test_revoking_leaves_the_users_other_tokens_working(agent):
    old, old_raw = token_create(user=agent, name="old")
    _new, new_raw = token_create(user=agent, name="new")
    token_revoke(user=agent, token_id=old.pk)
    assert bearer(old_raw).get(URL).status_code == 401
    assert bearer(new_raw).get(URL).status_code == 200


def test_a_user_cannot_revoke_someone_elses_token(agent, dispatcher):
    row, raw = token_create(user=agent, name="mine")
    with pytest.raises(NotFound):
        token_revoke(user=dispatcher, token_id=row.pk)
    assert bearer(raw).get(URL).status_code == 200


def test_a_revoked_token_is_not_touched(agent):
    row, raw = token_create(user=agent, name="old")
    token_revoke(user=agent, token_id=row.pk)
    bearer(raw).get(URL)
    row.refresh_from_db()
    assert row.last_used_at is None


def test_a_tampered_token_is_refused(agent):
    _row, raw = token_create(user=agent, name="test")
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert bearer(tampered).get(URL).status_code == 401
    assert bearer(raw.upper()).get(URL).status_code == 401


def test_the_token_of_a_deactivated_user_is_refused(agent):
    _row, raw = token_create(user=agent, name="test")
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert bearer(raw).get(URL).status_code == 401

