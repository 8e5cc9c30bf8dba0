"""`kefu backup` / `kefu restore` on the configured backend (SQLite or PostgreSQL).

The round trip restores into a fresh database in another process — SQLite: an empty data
directory; PostgreSQL: a scratch database ``kefu_restore_test_<pid>`` — then finds every ticket
by number there and decrypts the customers' phones, ID numbers and addresses with the key, and
not with another one.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import CommandError, call_command
from django.db import connection

from kefu.core import backup, crypto
from kefu.customers import services as customer_services
from kefu.customers.models import Customer
from kefu.tickets.models import Channel, Priority, Ticket, TicketType
from kefu.tickets.services import ticket_create

pytestmark = pytest.mark.django_db(transaction=True)

ON_POSTGRES = connection.vendor == "postgresql"
OTHER_KEY = "another-field-key-" + "x" * 32


def _env(env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    return {**base, "KEFU_MODE": "test", **env}


def run_kefu(env, *args):
    return subprocess.run([sys.executable, "-m", "kefu", *args], env=_env(env),
                          capture_output=True, text=True, timeout=120)


def start_kefu(env, *args):
    return subprocess.Popen([sys.executable, "-m", "kefu", *args], env=_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Target:
    """A fresh database for the restore, reached from a subprocess (env) or directly (rows)."""

    def __init__(self, env, query):
        self.env = env
        self.rows = query


def _pg_admin(settings_dict, dbname):
    import psycopg

    return psycopg.connect(
        host=settings_dict["HOST"] or None, port=settings_dict["PORT"] or None,
        user=settings_dict["USER"] or None, password=settings_dict["PASSWORD"] or None,
        dbname=dbname, autocommit=True,
    )


@pytest.fixture
def target(tmp_path, settings):
    data_dir = tmp_path / "restored"
    env = {"KEFU_DATA_DIR": str(data_dir), "KEFU_FIELD_KEY": settings.FIELD_KEY}
    if not ON_POSTGRES:
        def query(sql):
            db = sqlite3.connect(data_dir / "kefu.sqlite3")
            try:
                return db.execute(sql).fetchall()
            finally:
                db.close()

        yield Target(env, query)
        return
    sd = connection.settings_dict
    name = f"kefu_restore_test_{os.getpid()}"
    with _pg_admin(sd, "postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = quote(sd["USER"] or "", safe="")
    if sd["PASSWORD"]:
        auth += ":" + quote(sd["PASSWORD"], safe="")
    env["KEFU_DATABASE_URL"] = (f"postgres://{auth}@{sd['HOST'] or '127.0.0.1'}:"
                                f"{sd['PORT'] or 5432}/{name}")

    def query(sql):
        with _pg_admin(sd, name) as db:
            return db.execute(sql).fetchall()

    try:
        yield Target(env, query)
    finally:
        with _pg_admin(sd, "postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def config(working_calendar):
    # Transactional tests flush what the data migration loaded: load the defaults again.
    from importlib import import_module

    from django.apps import apps

    import_module("kefu.tickets.migrations.0002_default_configuration").load(apps, None)
    return {"phone": Channel.objects.get(code="phone"), "fault": TicketType.objects.get(code="fault"),
            "normal": Priority.objects.get(code="normal")}


@pytest.fixture
def desk(config, agent, customer, regions):
    """Three customers with phones, ID numbers and addresses, and five tickets."""
    import datetime
    from zoneinfo import ZoneInfo

    li = customer_services.customer_create(
        actor=agent, name="李四", region=regions["east"], id_number="310101198502023456",
        phones=["139 8765 4321"], addresses=["上海市徐汇区漕溪北路 1 号"],
    )
    school = customer_services.customer_create(
        actor=agent, name="成都七中", party_type="organisation", kind="major",
        region=regions["west"], phones=["028-8765 4321", "13900001111"],
    )
    when = datetime.datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    for i, who in enumerate([customer, li, school, customer, school]):
        ticket_create(actor=agent, customer=who, channel=config["phone"],
                      ticket_type=config["fault"], priority=config["normal"],
                      subject=f"打印机卡纸 {i}", now=when)
    return snapshot()


def snapshot():
    """What the restored database must show: each ticket's customer and decrypted PII."""
    tickets = {}
    for t in Ticket.objects.select_related("customer").order_by("number"):
        c = t.customer
        tickets[t.number] = {
            "customer": c.number, "id_number": c.id_number,
            "phones": sorted(p.number for p in c.phones.all()),
            "addresses": sorted(a.text for a in c.addresses.all()),
        }
    return tickets


VERIFY = """
import json
from kefu.core.crypto import phone_index
from kefu.customers.models import Phone
from kefu.tickets.models import Ticket
numbers, phones = json.loads(%r)
found = {}
for number in numbers:
    c = Ticket.objects.select_related("customer").get(number=number).customer
    found[number] = {"customer": c.number, "id_number": c.id_number,
                     "phones": sorted(p.number for p in c.phones.all()),
                     "addresses": sorted(a.text for a in c.addresses.all())}
lookups = {p: list(Phone.objects.filter(number_index=phone_index(p))
                   .values_list("customer__number", flat=True)) for p in phones}
print("RESULT " + json.dumps({"tickets": found, "lookups": lookups,
                              "count": Ticket.objects.count()}, ensure_ascii=False))
"""


def verify_in(target, expected):
    phones = sorted({p for t in expected.values() for p in t["phones"]})
    code = VERIFY % json.dumps([sorted(expected), phones])
    result = run_kefu(target.env, "shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def one_line(text):
    lines = [x for x in text.splitlines() if x.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_a_backup_restores_into_a_fresh_database_and_decrypts_only_with_its_key(
        desk, target, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "private"
    (settings.MEDIA_ROOT / "attachments" / "7").mkdir(parents=True)
    (settings.MEDIA_ROOT / "attachments" / "7" / "contract.pdf").write_bytes(b"%PDF-1.4 contract")
    assert desk["CS202611001"]["phones"] == ["13812345678"]
    assert desk["CS202611001"]["id_number"] == "110101199001011234"

    out = _call("backup", str(tmp_path / "backups") + os.sep, "--with-attachments")
    dump = next(p for p in (tmp_path / "backups").iterdir()
                if p.suffix == (".dump" if ON_POSTGRES else ".sqlite3"))
    assert dump.name.startswith("kefu-") and str(dump) in out
    manifest_text = backup.manifest_path(dump).read_text()
    manifest = json.loads(manifest_text)
    assert manifest["backend"] == ("postgresql" if ON_POSTGRES else "sqlite")
    assert manifest["counts"] == {"tickets": 5, "customers": 3, "users": 1}
    assert "0002_default_configuration" in manifest["migrations"]["tickets"]
    assert manifest["field_key_fingerprint"] == backup.key_fingerprint()
    assert settings.FIELD_KEY not in manifest_text
    assert manifest["sha256"] == backup.sha256_of(dump)
    assert manifest["attachments"]["files"] == 1
    assert oct(dump.stat().st_mode & 0o777) == "0o600"

    restored = run_kefu(target.env, "restore", str(dump))
    assert restored.returncode == 0, restored.stderr
    assert "工单 5 张，客户 3 个" in restored.stdout
    assert "字段密钥与备份一致" in restored.stdout
    restored_file = Path(target.env["KEFU_DATA_DIR"]) / "private/attachments/7/contract.pdf"
    assert restored_file.read_bytes() == b"%PDF-1.4 contract"

    # Now it has data: a restore without --force is refused (it only reads, so it runs while
    # the restored database is being checked).
    again = start_kefu(target.env, "restore", str(dump))
    try:
        seen = verify_in(target, desk)
    finally:
        _out, refusal = again.communicate(timeout=120)
    assert seen["count"] == 5
    assert seen["tickets"] == desk  # every ticket by number, phones/ID/addresses decrypted
    assert seen["lookups"]["13812345678"] == [desk["CS202611001"]["customer"]]
    assert again.returncode == 1
    assert "--force" in one_line(refusal)
    assert target.rows("SELECT count(*) FROM tickets_ticket") == [(5,)]

    # Under another key the restore still happens, says so loudly and exits 3.
    wrong = run_kefu({**target.env, "KEFU_FIELD_KEY": OTHER_KEY}, "restore", str(dump), "--force")
    assert wrong.returncode == 3, wrong.stderr
    assert "KEFU_FIELD_KEY" in wrong.stderr
    assert target.rows("SELECT count(*) FROM tickets_ticket") == [(5,)]
    tokens = [row[0] for row in target.rows("SELECT number FROM customers_phone")]
    assert len(tokens) == 4
    assert sorted(crypto.decrypt(t) for t in tokens) == sorted(
        {p for t in desk.values() for p in t["phones"]})
    settings.FIELD_KEY = OTHER_KEY
    for token in tokens:
        with pytest.raises(InvalidTag):
            crypto.decrypt(token)


def _call(*args):
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _refused(*args):
    with pytest.raises(CommandError) as caught:
        _call("restore", *args)
    message = str(caught.value)
    assert "\n" not in message
    return message


def customers_now():
    return sorted((c.number, c.id_number, sorted(p.number for p in c.phones.all()))
                  for c in Customer.objects.all())


def test_bad_input_is_refused_in_one_line_and_changes_nothing(customer, west_customer, tmp_path):
    _call("backup", str(tmp_path / "b") + os.sep)
    dump = next(p for p in (tmp_path / "b").iterdir() if p.suffix in {".dump", ".sqlite3"})
    before = customers_now()
    assert len(before) == 2 and before[0][2]

    assert "找不到备份文件" in _refused(str(tmp_path / "missing.dump"), "--force")

    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(os.urandom(4096))
    assert "不是 Kefu 备份文件" in _refused(str(garbage), "--force")

    other = tmp_path / "other-backend"
    if ON_POSTGRES:
        db = sqlite3.connect(other)
        db.execute("CREATE TABLE django_migrations (id integer)")
        db.commit()
        db.close()
    else:
        other.write_bytes(b"PGDMP\x01\x0e\x00" + os.urandom(2000))
    assert "当前配置的数据库是" in _refused(str(other), "--force")

    # Damaged with its manifest beside it: the checksum catches it before anything runs.
    cut = tmp_path / f"cut{dump.suffix}"
    cut.write_bytes(dump.read_bytes()[:-200])  # the archive's index still reads; data does not
    shutil.copy(backup.manifest_path(dump), backup.manifest_path(cut))
    assert "校验和" in _refused(str(cut), "--force")

    # Damaged without a manifest: SQLite's integrity check refuses it; on PostgreSQL
    # pg_restore runs, fails at the end of the file and its single transaction rolls back.
    backup.manifest_path(cut).unlink()
    assert ("pg_restore 失败" if ON_POSTGRES else "备份文件已损坏") in _refused(str(cut), "--force")

    # Data present, no --force.
    assert "--force" in _refused(str(dump))

    assert customers_now() == before
    with pytest.raises(CommandError, match="不会覆盖"):
        _call("backup", str(dump))


def test_pg_tools_missing_is_one_clear_error(transactional_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    folder = tmp_path / "b"
    if not ON_POSTGRES:
        # SQLite needs no external tool (and git is optional for the manifest).
        _call("backup", str(folder) + os.sep)
        assert len(list(folder.glob("*.sqlite3"))) == 1
        return
    with pytest.raises(CommandError, match="找不到 pg_dump"):
        _call("backup", str(folder) + os.sep)
    assert not folder.exists()
    fake = tmp_path / "x.dump"
    fake.write_bytes(b"PGDMP" + b"\0" * 100)
    assert "找不到 pg_restore" in _refused(str(fake), "--force")


@pytest.mark.skipif(ON_POSTGRES, reason="pg_dump reads its own snapshot; the WAL case is SQLite's")
def test_sqlite_backup_is_consistent_while_the_app_writes(customer, tmp_path):
    name = connection.settings_dict["NAME"]
    stop = threading.Event()
    written = []

    def writer():
        db = sqlite3.connect(name, timeout=20, isolation_level=None)
        while not stop.is_set():
            db.execute("INSERT INTO tickets_phrase (kind, text, sort_order, is_active) "
                       "VALUES ('greeting', 'x', 0, 1)")
            written.append(1)
        db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        result = backup.backup(tmp_path / "live.sqlite3")
    finally:
        stop.set()
        thread.join()
    copy = sqlite3.connect(result.path)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        phrases = copy.execute("SELECT count(*) FROM tickets_phrase").fetchone()[0]
        assert copy.execute("SELECT count(*) FROM customers_customer").fetchone()[0] == 1
    finally:
        copy.close()
    assert 20 <= phrases - _default_phrases() <= len(written)
    assert not Path(f"{result.path}-wal").exists()


def _default_phrases():
    from kefu.tickets.models import Phrase

    return Phrase.objects.exclude(text="x").count()


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite: the file must not be open elsewhere")
def test_sqlite_restore_refuses_a_database_another_process_has_open(customer, tmp_path):
    _call("backup", str(tmp_path / "b") + os.sep)
    dump = next((tmp_path / "b").glob("*.sqlite3"))
    before = customers_now()
    # Kefu still running: an idle connection that has read the database (WAL).
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        other.execute("SELECT count(*) FROM customers_customer").fetchone()
        assert "正被其他进程使用" in _refused(str(dump), "--force")
    finally:
        other.close()
    assert customers_now() == before


def test_the_key_check_needs_no_manifest(customer, settings):
    assert backup._key_status(connection, None) == "ok"  # a stored phone decrypts
    assert backup._key_status(connection, {"field_key_fingerprint": "hmac-sha256:0"}) == "mismatch"
    fingerprint = backup.key_fingerprint()
    settings.FIELD_KEY = OTHER_KEY
    assert backup.key_fingerprint() != fingerprint
    assert backup._key_status(connection, None) == "mismatch"
