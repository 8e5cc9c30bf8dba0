"""Production refuses to start without its secrets; development generates them."""

import os
import subprocess
import sys

import pytest


def run_kefu(tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    base.update({"KEFU_DATA_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-m", "kefu", *args], env=base, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "KEFU_SECRET_KEY"),
        ({"KEFU_SECRET_KEY": "s" * 50}, "KEFU_FIELD_KEY"),
        ({"KEFU_SECRET_KEY": "dev-abc", "KEFU_FIELD_KEY": "k" * 40}, "KEFU_SECRET_KEY"),
    ],
)
def test_production_refuses_to_start_without_secrets(tmp_path, env, missing):
    result = run_kefu(tmp_path, "check", KEFU_MODE="production", **env)
    assert result.returncode != 0
    assert missing in result.stderr
    assert not (tmp_path / "field_key").exists()


def test_a_short_field_key_is_refused(tmp_path):
    result = run_kefu(tmp_path, "shell", "-c", "from kefu.core.crypto import encrypt; encrypt('x')",
                      KEFU_MODE="production", KEFU_SECRET_KEY="s" * 50, KEFU_FIELD_KEY="short")
    assert result.returncode != 0
    assert "KEFU_FIELD_KEY" in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    (tmp_path / "sk").write_text("s" * 50)
    (tmp_path / "fk").write_text("f" * 43)
    result = run_kefu(
        tmp_path, "shell", "-c", "from django.conf import settings; print(settings.FIELD_KEY)",
        KEFU_MODE="production", KEFU_SECRET_KEY_FILE=str(tmp_path / "sk"),
        KEFU_FIELD_KEY_FILE=str(tmp_path / "fk"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "f" * 43


def test_development_generates_and_keeps_a_key(tmp_path):
    code = "from django.conf import settings; print(settings.FIELD_KEY)"
    first = run_kefu(tmp_path, "shell", "-c", code, KEFU_MODE="development")
    second = run_kefu(tmp_path, "shell", "-c", code, KEFU_MODE="development")
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip().splitlines()[-1]
    assert key == second.stdout.strip().splitlines()[-1] and len(key) >= 32


def test_a_bad_boolean_is_a_loud_error(tmp_path):
    result = run_kefu(tmp_path, "check", KEFU_DEBUG="maybe")
    assert result.returncode != 0
    assert "KEFU_DEBUG" in result.stderr


def test_sqlite_connections_are_kept_and_tuned(tmp_path):
    """A gunicorn worker keeps its SQLite connection between requests (schema read and page
    cache kept), with a 64 MiB page cache and a memory map: what the pragmas say on a fresh
    connection of a development setup."""
    show = ("from django.db import connection; from django.conf import settings; "
            "c = connection.cursor(); "
            "print(settings.DATABASES['default']['CONN_MAX_AGE'], "
            "c.execute('PRAGMA cache_size').fetchone()[0], c.execute('PRAGMA mmap_size').fetchone()[0], "
            "c.execute('PRAGMA journal_mode').fetchone()[0])")
    result = run_kefu(tmp_path, "shell", "-c", show, KEFU_MODE="development")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["60", "-65536", "268435456", "wal"]
