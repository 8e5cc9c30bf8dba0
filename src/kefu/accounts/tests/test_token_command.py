"""`kefu token create|list|revoke`: the raw token on stdout once, errors as CommandError."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from kefu.accounts.models import ApiToken
from kefu.accounts.services import token_create

pytestmark = pytest.mark.django_db

API = "/api/v1/customers"


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def bearer(raw):
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_it_prints_a_working_token_on_stdout(agent, customer):
    out, err = run("create", "alice", "呼叫中心对接")
    raw = out.strip()
    assert raw.startswith("kefu_") and "\n" not in raw  # stdout is the token alone, for scripts
    row = ApiToken.objects.get()
    assert (row.user, row.name, row.digest) == (agent, "呼叫中心对接", ApiToken.hash(raw))
    assert f"#{row.pk}" in err
    assert raw not in err
    assert bearer(raw).get(API).status_code == 200


def test_an_unknown_user_is_a_command_error(agent):
    with pytest.raises(CommandError, match="ghost"):
        run("create", "ghost", "x")
    assert not ApiToken.objects.exists()


def test_an_inactive_user_gets_no_token(agent):
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    with pytest.raises(CommandError):
        run("create", "alice", "x")
    assert not ApiToken.objects.exists()


def test_a_blank_name_is_a_command_error(agent):
    with pytest.raises(CommandError):
        run("create", "alice", " ")
    assert not ApiToken.objects.exists()


def test_it_lists_tokens_without_their_secrets(agent, dispatcher):
    row, raw = token_create(user=agent, name="呼叫中心")
    other, _raw = token_create(user=dispatcher, name="报表")
    out, _err = run("list")
    assert f"{row.pk}\talice\t呼叫中心\t{row.prefix}…\t有效" in out
    assert f"{other.pk}\tdora\t报表" in out
    assert raw not in out
    only_alice, _err = run("list", "alice")
    assert "dora" not in only_alice and "alice" in only_alice


def test_it_revokes_a_token(agent, customer):
    row, raw = token_create(user=agent, name="旧电脑")
    out, _err = run("revoke", str(row.pk))
    assert f"#{row.pk}" in out
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert bearer(raw).get(API).status_code == 401
    listed, _err = run("list")
    assert "已吊销" in listed


def test_revoking_an_unknown_or_revoked_token_is_a_command_error(agent):
    with pytest.raises(CommandError):
        run("revoke", "999")
    row, _raw = token_create(user=agent, name="x")
    run("revoke", str(row.pk))
    with pytest.raises(CommandError):
        run("revoke", str(row.pk))
