#!/usr/bin/env python
"""Load test (issue 5): concurrent agents creating and updating tickets through gunicorn.

Bounded in time and count, loopback only. The test sets up a scratch database of its own:

* SQLite (no KEFU_DATABASE_URL, or ``--backend sqlite``): a temporary KEFU_DATA_DIR, WAL mode
  and IMMEDIATE transactions as settings.py configures them;
* PostgreSQL (KEFU_DATABASE_URL set, or ``--backend postgresql``): a database
  ``kefu_load_<pid>`` created on the server KEFU_DATABASE_URL names (default
  postgres://postgres@127.0.0.1:5432), dropped at the end, also after a failure or Ctrl-C.

It migrates it, creates a few customers and ``--clients`` agents of one department
(``staff_create``), each with an API token (``token_create``), and starts
``kefu serve --no-collectstatic --skip-checks`` (the production server configuration of
kefu/gunicorn_conf.py: preloaded app, recycled workers, access log) with ``--workers`` workers on a free 127.0.0.1 port, in development mode with
KEFU_DEBUG off; ``--server gunicorn`` runs plain ``gunicorn kefu.wsgi`` instead. Its stdout
(access log) and stderr (errors) go to files in the scratch directory (``--keep`` keeps them).
Both processes use ``kefu.settings`` unless DJANGO_SETTINGS_MODULE names another module (a
settings variant to compare, e.g. another SQLite ``transaction_mode``).

Every client is a thread with one ``http.client`` connection (keep-alive as far as the sync
workers allow; they close after each response and the client reconnects) and its own agent
token, repeating until ``--seconds`` have passed or ``--max-requests`` requests were sent:

1. ``POST /api/v1/tickets`` with a unique Idempotency-Key (expects 201);
2. ``POST /api/v1/tickets/{id}/notes`` (every third one customer-visible: the first response,
   which moves the version);
3. ``PATCH /api/v1/tickets/{id}`` changing the subject, with the version the last answer
   showed; a 409 (someone claimed it meanwhile) re-reads the ticket (``GET``) and retries once;
4. with probability ``--claim-ratio``: ``POST /api/v1/tickets/{id}/claim`` on a pool ticket
   another client created, half the time one from ``GET /api/v1/tickets?queue=pool`` (the
   oldest deadlines), half the time one just created (often before its creator's PATCH,
   which then meets the 409 and retries). Several clients race for the same tickets: a 409 on a
   claim is an expected outcome, counted apart from errors, as is the 409 on a PATCH.

Errors are 5xx answers, connection failures and any other unexpected status. At the end it
prints one table (per operation: requests, 409s, errors, p50/p95/p99/max client latency, the
server's own p95 from the access log) and the checks, and exits 1 if any check fails:

* no errors;
* the database holds exactly the tickets whose creation answered 201, with the numbers the
  API returned; numbers are unique and, per month, CS+YYYYMM+1..N without a gap, and the
  number sequence's last value is N;
* every ticket has its history rows and events: one "+" history row and one "created" event,
  one "updated" event and one history row per successful PATCH, one "note" event per note, one
  "claimed" event and one history row for a won claim (its owner is the winner), one history
  row for the first customer-visible note; its version counts the same writes;
* the daily counts behind the reports (``kefu ticket_stats``) agree with the tickets;
* no "database is locked" (nor any traceback) in gunicorn's output.

Exit status: 0 when every check passes, 1 when one fails, 2 when the test could not run.

Usage::

    .venv/bin/python benchmarks/load_test.py                      # SQLite, 60 s, 20 clients
    KEFU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/load_test.py                  # PostgreSQL
    .venv/bin/python benchmarks/load_test.py --seconds 10 --max-requests 2000 --clients 8
"""

import argparse
import collections
import contextlib
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import free_port, percentile, wait_until_serving  # noqa: E402  (benchmarks/suite.py)

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = "【压测】打印机卡纸"
NOTE_INTERNAL = "已电话联系客户，正在安排工程师排查进纸故障。"
NOTE_VISIBLE = "您好，工程师已与您联系，将在今天下午上门为您处理，请保持电话畅通。"
USER_AGENT = "kefu-load-test"
OPS = ("create", "note", "update", "read", "pool list", "claim")
NUMBER = re.compile(r"^CS(\d{6})(\d{3,})$")
ACCESS_LINE = re.compile(r'"(GET|POST|PATCH|PUT|DELETE) (\S+) HTTP/[\d.]+" (\d{3}) .*"' +
                         re.escape(USER_AGENT) + r'" (\d+)ms\s*$')
ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


class Stop(Exception):
    """The time or the request budget is used up."""


def say(message):
    print(message, file=sys.stderr, flush=True)




# --- the scratch database ---------------------------------------------------------------------

class ScratchDatabase:
    """A temporary KEFU_DATA_DIR (both backends: development secrets, Huey's SQLite queue, and
    for SQLite the database) and, on PostgreSQL, a database kefu_load_<pid> on the server of
    KEFU_DATABASE_URL. ``close()`` removes both; it is safe to call twice."""

    def __init__(self, backend, server_url, keep=False):
        self.backend, self.keep = backend, keep
        self.data_dir = tempfile.mkdtemp(prefix="kefu-load-")
        self.pg_name = self.pg_admin = self.url = None
        if backend == "postgresql":
            parts = urlsplit(server_url)
            self.pg_name = f"kefu_load_{os.getpid()}"
            self.url = urlunsplit(parts._replace(path="/" + quote(self.pg_name)))
            self.pg_admin = self._admin_conninfo(parts)

    @staticmethod
    def _admin_conninfo(parts):
        """Keyword arguments for psycopg.connect to the maintenance database of that server."""
        from urllib.parse import unquote

        args = {"dbname": "postgres"}
        if parts.hostname:
            args["host"] = unquote(parts.hostname)
        if parts.port:
            args["port"] = parts.port
        if parts.username:
            args["user"] = unquote(parts.username)
        if parts.password:
            args["password"] = unquote(parts.password)
        return args

    def _admin(self, sql):
        import psycopg

        with psycopg.connect(**self.pg_admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create(self):
        Path(self.data_dir, "static").mkdir(parents=True, exist_ok=True)  # whitenoise's root
        if self.backend == "postgresql":
            # A leftover of a killed run with this pid is garbage: drop it first.
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{self.pg_name}"')

    def close(self):
        if self.keep:
            say(f"kept: KEFU_DATA_DIR={self.data_dir}" + (f", database {self.pg_name}" if self.pg_name else ""))
            return
        if self.pg_name:
            try:
                with contextlib.suppress(Exception):
                    from django.db import connections

                    connections.close_all()
                self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
                say(f"dropped database {self.pg_name}")
            except Exception as exc:  # noqa: BLE001 - report and go on with the rest
                say(f"could not drop database {self.pg_name}: {exc}")
            self.pg_name = None
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


def configure(scratch):
    """The environment this process and gunicorn share, then Django, migrations and the cast."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    os.environ["KEFU_DATA_DIR"] = scratch.data_dir
    # Development mode (plain HTTP on loopback, generated keys in the scratch directory) with
    # DEBUG off, as the benchmark suite runs.
    os.environ["KEFU_MODE"] = "development"
    os.environ["KEFU_DEBUG"] = "false"
    # Background jobs go to a SQLite queue in the scratch directory, not to a shared Redis.
    os.environ.pop("KEFU_REDIS_URL", None)
    if scratch.url:
        os.environ["KEFU_DATABASE_URL"] = scratch.url
    else:
        os.environ.pop("KEFU_DATABASE_URL", None)
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_cast(clients, run_id):
    """``clients`` agents with a token each and five customers; returns (agents, customer ids)."""
    from kefu.accounts.models import Department, Region
    from kefu.accounts.services import staff_create, token_create
    from kefu.customers.services import customer_create

    region, _ = Region.objects.get_or_create(code="load", defaults={"name": "压测片区"})
    # The agents belong to a department (no automatic assignment): an agent with neither a
    # department nor regions sees only the tickets they own or took in (Ticket.objects.visible_to
    # ORs an empty Q(), which Django drops), so their pool would hold only their own tickets.
    # Scoped to a department, they see its tickets and those without one: everyone's.
    department, _ = Department.objects.get_or_create(code="load", defaults={"name": "压测坐席组"})
    agents, users = [], []
    for i in range(clients):
        user = staff_create(username=f"load-agent-{i:02d}", password=None,
                            display_name=f"压测坐席{i:02d}", employee_no=f"LOAD-{i:03d}", role="agent",
                            department=department)
        _, token = token_create(user=user, name=f"load test {run_id}")
        agents.append((user.pk, token))
        users.append(user)
    customers = [
        customer_create(actor=users[0], name=f"压测客户{i}", region=region,
                        phones=[f"1390000{i:04d}"]).pk
        for i in range(5)
    ]
    return agents, customers


def backend_info():
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("SELECT sqlite_version()")
        version = cursor.fetchone()[0]
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
        options = connection.settings_dict.get("OPTIONS", {})
        return (f"SQLite {version}, journal_mode={mode}, transaction_mode="
                f"{options.get('transaction_mode', 'DEFERRED')}, timeout={options.get('timeout', 5)} s")


# --- the server -------------------------------------------------------------------------------

class Server:
    """``kefu serve`` (or ``gunicorn kefu.wsgi``) on a free loopback port, stdout and stderr
    in files of the scratch directory; stopped by its own pid (SIGTERM, then SIGKILL)."""

    def __init__(self, kind, workers, log_dir):
        self.kind, self.workers, self.port, self.proc = kind, workers, free_port(), None
        self.out_path = Path(log_dir, "gunicorn.stdout.log")
        self.err_path = Path(log_dir, "gunicorn.stderr.log")

    def command(self):
        bind = f"127.0.0.1:{self.port}"
        bindir = Path(sys.executable).parent
        if self.kind == "serve":
            kefu = bindir / "kefu"
            base = [str(kefu)] if kefu.exists() else [sys.executable, "-m", "kefu.cli"]
            return [*base, "serve", "--no-collectstatic", "--skip-checks",
                    "--bind", bind, "--workers", str(self.workers)]
        gunicorn = bindir / "gunicorn"
        return [str(gunicorn) if gunicorn.exists() else "gunicorn", "kefu.wsgi",
                "-w", str(self.workers), "-b", bind, "--timeout", "120",
                "--access-logfile", "-", "--access-logformat", ACCESS_FORMAT]

    def start(self):
        self.out, self.err = open(self.out_path, "wb"), open(self.err_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(self.command(), cwd=str(ROOT), env=dict(os.environ),
                                     stdout=self.out, stderr=self.err, start_new_session=True)
        wait_until_serving(self.proc, self.port, self.tail, what="the server")

    def tail(self, lines=30):
        with contextlib.suppress(Exception):
            self.err.flush()
        text = self.err_path.read_text(errors="replace") if self.err_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (getattr(self, "out", None), getattr(self, "err", None)):
            if f is not None:
                f.close()


# --- the clients ------------------------------------------------------------------------------

class Shared:
    """What the client threads share: the deadline, the request budget, and which client
    created which ticket (to claim only others' tickets)."""

    def __init__(self, seconds, max_requests):
        self.deadline = time.monotonic() + seconds
        self.budget = max_requests
        self.sent = itertools.count()
        self.lock = threading.Lock()
        self.creator = {}  # ticket id -> client index
        self.recent = collections.deque(maxlen=40)  # (ticket id, client index), newest last
        self.stop = threading.Event()

    def take(self):
        if self.stop.is_set() or time.monotonic() >= self.deadline:
            raise Stop
        if self.budget:
            with self.lock:
                if next(self.sent) >= self.budget:
                    raise Stop


def describe(payload, raw=b""):
    """An error answer in a line: the API's code and message (and fields), else the raw text."""
    if isinstance(payload, dict) and "code" in payload:
        fields = f" {payload['fields']}" if payload.get("fields") else ""
        return f"{payload['code']}: {payload.get('message', '')}{fields}"[:300]
    return (raw or b"").decode("utf-8", "replace")[:200] or str(payload)[:200]


class Client(threading.Thread):
    def __init__(self, index, port, user_id, token, customers, shared, run_id, claim_ratio):
        super().__init__(name=f"client-{index}", daemon=True)
        self.index, self.port, self.user_id, self.shared = index, port, user_id, shared
        self.customers, self.run_id, self.claim_ratio = customers, run_id, claim_ratio
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Accept": "application/json", "User-Agent": USER_AGENT}
        self.rng = random.Random(f"{run_id}-{index}")
        self.latency = collections.defaultdict(list)  # op -> seconds
        self.statuses = collections.Counter()  # (op, status)
        self.conflicts = collections.Counter()  # op -> expected 409s
        self.errors = []  # (op, text)
        self.tickets = {}  # id -> what this client did to its ticket
        self.claims = {}  # ticket id -> this client's user id, for the claims it won
        self.conn = None
        self.crash = None

    # one request
    def call(self, op, method, path, body=None, headers=None):
        """(status, JSON body or None); status None after a connection error (recorded)."""
        self.shared.take()
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = None if body is None else json.dumps(body).encode()
        began = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers={**self.headers, **(headers or {})})
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = None
            self.latency[op].append(time.perf_counter() - began)
            self.statuses[(op, "conn")] += 1
            self.errors.append((op, f"{method} {path}: connection error {exc!r}"))
            return None, None
        self.latency[op].append(time.perf_counter() - began)
        self.statuses[(op, response.status)] += 1
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        if response.status >= 500:
            self.errors.append((op, f"{method} {path}: {response.status} {describe(payload, raw)}"))
        return response.status, payload

    def unexpected(self, op, method, path, status, payload):
        if status is not None and status < 500:  # 5xx and connection errors are already in
            self.errors.append((op, f"{method} {path}: unexpected {status} {describe(payload)}"))

    # the work of one agent
    def run(self):
        try:
            for i in itertools.count():
                self.iteration(i)
        except Stop:
            pass
        except Exception as exc:  # noqa: BLE001 - a bug in the client: report it as an error
            self.crash = repr(exc)
            self.errors.append(("client", f"client {self.index} crashed: {exc!r}"))
        finally:
            if self.conn is not None:
                self.conn.close()

    def iteration(self, i):
        key = f"load-{self.run_id}-{self.index}-{i}"
        subject = f"{SUBJECT} c{self.index:02d}#{i}"
        body = {"customer_id": self.rng.choice(self.customers), "channel": "phone",
                "ticket_type": "fault", "priority": "normal", "subject": subject,
                "description": "进纸口卡纸，面板显示 E-01，已尝试重启。"}
        status, created = self.call("create", "POST", "/api/v1/tickets", body, {"Idempotency-Key": key})
        if status != 201:
            self.unexpected("create", "POST", "/api/v1/tickets", status, created)
            return
        tid = created["id"]
        record = {"number": created["number"], "version0": created["version"], "updates": 0,
                  "notes": 0, "visible": False}
        self.tickets[tid] = record
        with self.shared.lock:
            self.shared.creator[tid] = self.index
            self.shared.recent.append((tid, self.index))

        # the note first: a customer-visible one is the first response and moves the version
        path = f"/api/v1/tickets/{tid}"
        version = created["version"]
        visible = i % 3 == 0
        status, answer = self.call("note", "POST", f"{path}/notes",
                                   {"text": NOTE_VISIBLE if visible else NOTE_INTERNAL,
                                    "customer_visible": visible})
        if status == 200:
            record["notes"] += 1
            record["visible"] = record["visible"] or visible
            version = answer["version"]
        else:
            self.unexpected("note", "POST", f"{path}/notes", status, answer)

        # update with the version last seen; on 409 (claimed meanwhile) re-read and retry once
        for attempt in range(2):
            status, answer = self.call("update", "PATCH", path,
                                       {"version": version, "subject": f"{subject} 已更新"})
            if status == 200:
                record["updates"] += 1
                break
            if status == 409 and attempt == 0:
                self.conflicts["update"] += 1
                status, current = self.call("read", "GET", path)
                if status != 200:
                    self.unexpected("read", "GET", path, status, current)
                    break
                version = current["version"]
                continue
            if status == 409:
                self.conflicts["update"] += 1
                self.conflicts["update: still stale after the retry"] += 1
            else:
                self.unexpected("update", "PATCH", path, status, answer)
            break

        if self.rng.random() < self.claim_ratio:
            self.claim_one()

    def claim_one(self):
        """Half the time from the first page of the pool (the oldest deadlines: every client
        looks at the same page, so claims collide); half the time one of the newest tickets of
        another client, often between its creator's note and PATCH: the PATCH gets the 409."""
        if self.rng.random() < 0.5:
            with self.shared.lock:
                others = [tid for tid, by in self.shared.recent if by != self.index][-5:]
        else:
            path = "/api/v1/tickets?queue=pool&limit=25"
            status, page = self.call("pool list", "GET", path)
            if status != 200:
                self.unexpected("pool list", "GET", path, status, page)
                return
            with self.shared.lock:
                others = [item["id"] for item in page["items"]
                          if self.shared.creator.get(item["id"], self.index) != self.index]
        if not others:
            return
        tid = self.rng.choice(others)
        status, answer = self.call("claim", "POST", f"/api/v1/tickets/{tid}/claim", {})
        if status == 200:
            self.claims[tid] = self.user_id
        elif status == 409:
            self.conflicts["claim"] += 1  # another agent was faster: an expected outcome
        else:
            self.unexpected("claim", "POST", f"/api/v1/tickets/{tid}/claim", status, answer)


def run_clients(port, agents, customers, seconds, max_requests, run_id, claim_ratio):
    shared = Shared(seconds, max_requests)
    clients = [Client(i, port, user_id, token, customers, shared, run_id, claim_ratio)
               for i, (user_id, token) in enumerate(agents)]
    began = time.perf_counter()
    try:
        for client in clients:
            client.start()
        for client in clients:
            while client.is_alive():
                client.join(timeout=0.5)
    finally:
        shared.stop.set()  # Ctrl-C: the others stop after their request in flight
        for client in clients:
            client.join(timeout=70)
    return clients, time.perf_counter() - began


# --- the server's own times -------------------------------------------------------------------

def op_of(method, target):
    path = target.split("?", 1)[0]
    if path == "/api/v1/tickets":
        return "create" if method == "POST" else "pool list"
    if re.fullmatch(r"/api/v1/tickets/\d+", path):
        return "update" if method == "PATCH" else "read"
    if path.endswith("/notes"):
        return "note"
    if path.endswith("/claim"):
        return "claim"
    return None


def server_times(path):
    """op -> the server's own milliseconds per request, from the access log."""
    times = collections.defaultdict(list)
    with contextlib.suppress(OSError), open(path, errors="replace") as log:
        for line in log:
            match = ACCESS_LINE.search(line)
            if match:
                op = op_of(match[1], match[2])
                if op:
                    times[op].append(int(match[4]))
    return times


# --- the checks -------------------------------------------------------------------------------

def database_checks(clients, server):
    """[(name, ok, detail)] over the scratch database after the run."""
    from django.db import connection
    from django.db.models import Count

    from kefu.core.models import NumberSequence
    from kefu.tickets import stats
    from kefu.tickets.models import Ticket, TicketEvent

    connection.close()  # a fresh connection sees everything the workers committed
    checks = []
    expected = {}
    claims = {}
    for client in clients:
        expected.update(client.tickets)
        claims.update(client.claims)
    rows = {t["id"]: t for t in Ticket.objects.values("id", "number", "version", "owner_id",
                                                        "status", "subject")}

    lost = set(expected) - set(rows)
    extra = set(rows) - set(expected)
    checks.append(("tickets in the database = successful creates",
                   not lost and not extra,
                   f"{len(rows):,} in the database, {len(expected):,} created (201)"
                   + (f"; missing {sorted(lost)[:5]}" if lost else "")
                   + (f"; not answered as created {sorted(extra)[:5]}" if extra else "")))

    wrong_number = [tid for tid, r in expected.items() if tid in rows and rows[tid]["number"] != r["number"]]
    numbers = [r["number"] for r in rows.values()]
    duplicates = len(numbers) - len(set(numbers))
    per_month = collections.defaultdict(list)
    malformed = []
    for number in numbers:
        match = NUMBER.match(number)
        if match:
            per_month[match[1]].append(int(match[2]))
        else:
            malformed.append(number)
    gaps = {}
    for month, seqs in per_month.items():
        seqs.sort()
        if seqs != list(range(1, len(seqs) + 1)):
            missing = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
            gaps[month] = f"{len(seqs)} numbers, max {max(seqs)}, missing {missing[:5]}"
    sequences = {s.period: s.last_value for s in NumberSequence.objects.filter(prefix="CS")}
    seq_wrong = {m: (sequences.get(m), len(s)) for m, s in per_month.items() if sequences.get(m) != len(s)}
    months = ", ".join(f"{m}: 1..{len(s)}" for m, s in sorted(per_month.items()))
    checks.append(("ticket numbers unique, CS+YYYYMM+1..N per month, no gap",
                   not (duplicates or malformed or gaps or seq_wrong or wrong_number),
                   (months or "no tickets")
                   + (f"; {duplicates} duplicates" if duplicates else "")
                   + (f"; malformed {malformed[:3]}" if malformed else "")
                   + (f"; gaps {gaps}" if gaps else "")
                   + (f"; sequence (stored, expected) {seq_wrong}" if seq_wrong else "")
                   + (f"; {len(wrong_number)} numbers differ from the API's answer" if wrong_number else "")))

    events = collections.Counter()
    for row in TicketEvent.objects.values("ticket_id", "verb").annotate(n=Count("id")):
        events[(row["ticket_id"], row["verb"])] = row["n"]
    history_model = Ticket.history.model
    history = collections.Counter()
    for row in history_model.objects.values("id", "history_type").annotate(n=Count("history_id")):
        history[(row["id"], row["history_type"])] = row["n"]
    bad = []
    for tid, r in expected.items():
        row = rows.get(tid)
        if row is None:
            continue
        claimed = tid in claims
        changes = r["updates"] + int(claimed) + int(r["visible"])
        want = {
            "created event": (events[(tid, "created")], 1),
            "updated events": (events[(tid, "updated")], r["updates"]),
            "note events": (events[(tid, "note")], r["notes"]),
            "claimed events": (events[(tid, "claimed")], int(claimed)),
            "history +": (history[(tid, "+")], 1),
            "history ~": (history[(tid, "~")], changes),
            "version": (row["version"], r["version0"] + changes),
            "owner": (row["owner_id"], claims.get(tid)),
            "status": (row["status"], Ticket.Status.IN_PROGRESS if claimed else Ticket.Status.NEW),
            "subject updated": (row["subject"].endswith("已更新"), r["updates"] > 0),
        }
        wrong = {k: v for k, v in want.items() if v[0] != v[1]}
        if wrong:
            bad.append((tid, wrong))
    n_events = sum(events.values())
    n_history = sum(history.values())
    checks.append(("every ticket's history rows and events exist (and match the writes)",
                   not bad and not lost,
                   f"{n_history:,} history rows, {n_events:,} events, {len(claims):,} claimed"
                   + (f"; {len(bad)} tickets differ, e.g. {bad[:2]}" if bad else "")))

    stored, live = stats.stored_counts(), stats.live_counts()
    differ = len(set(stored.items()) ^ set(live.items()))
    checks.append(("daily ticket counts (kefu ticket_stats) match the tickets", stored == live,
                   "consistent" if stored == live else f"{differ} cells differ"))

    output = ""
    for path in (server.err_path, server.out_path):
        with contextlib.suppress(OSError):
            output += path.read_text(errors="replace")
    locked = len(re.findall(r"database is locked", output, re.IGNORECASE))
    tracebacks = output.count("Traceback (most recent call last)")
    timeouts = output.count("WORKER TIMEOUT")
    checks.append(('no "database is locked" in gunicorn\'s output', locked == 0,
                   f"{locked} occurrences in {server.err_path.name}"))
    checks.append(("no traceback or worker timeout in gunicorn's output",
                   tracebacks == 0 and timeouts == 0,
                   f"{tracebacks} tracebacks, {timeouts} worker timeouts"))
    return checks


# --- the report -------------------------------------------------------------------------------

def fmt_ms(seconds):
    return "—" if seconds is None else f"{seconds * 1000:.1f}"


def report(args, info, clients, wall, server, checks_db):
    latency = collections.defaultdict(list)
    statuses = collections.Counter()
    conflicts = collections.Counter()
    errors = []
    for client in clients:
        for op, samples in client.latency.items():
            latency[op].extend(samples)
        statuses.update(client.statuses)
        conflicts.update(client.conflicts)
        errors.extend(client.errors)
    errors_by_op = collections.Counter(op for op, _ in errors)
    served = server_times(server.out_path)

    head = ("operation", "requests", "2xx", "409 (expected)", "errors", "p50 ms", "p95 ms",
            "p99 ms", "max ms", "server p50/p95 ms")
    table = []
    numbers = {}  # op -> the same figures as numbers, for --json

    def row(op, samples, ok, n_conflicts, n_errors, srv):
        def ms(q):
            value = percentile(samples, q)
            return None if value is None else round(value * 1000, 1)

        numbers[op] = {
            "requests": len(samples), "ok": ok, "conflicts_409": n_conflicts, "errors": n_errors,
            "p50_ms": ms(0.5), "p95_ms": ms(0.95), "p99_ms": ms(0.99), "max_ms": ms(1.0),
            "server_p50_ms": percentile(srv, 0.5), "server_p95_ms": percentile(srv, 0.95),
        }
        table.append((op, f"{len(samples):,}", f"{ok:,}", f"{n_conflicts:,}", f"{n_errors:,}",
                      fmt_ms(percentile(samples, 0.5)), fmt_ms(percentile(samples, 0.95)),
                      fmt_ms(percentile(samples, 0.99)), fmt_ms(percentile(samples, 1.0)),
                      f"{percentile(srv, 0.5)}/{percentile(srv, 0.95)}" if srv else "—"))

    all_samples, all_server = [], []
    for op in OPS:
        samples = sorted(latency.get(op, []))
        if not samples:
            continue
        all_samples.extend(samples)
        srv = sorted(served.get(op, []))
        all_server.extend(srv)
        ok = sum(n for (o, s), n in statuses.items() if o == op and isinstance(s, int) and 200 <= s < 300)
        row(op, samples, ok, conflicts.get(op, 0), errors_by_op.get(op, 0), srv)
    all_samples.sort()
    all_server.sort()
    total = len(all_samples)
    ok_all = sum(n for (_, s), n in statuses.items() if isinstance(s, int) and 200 <= s < 300)
    row("all", all_samples, ok_all, sum(conflicts[o] for o in OPS), len(errors), all_server)

    creates = sum(len(c.tickets) for c in clients)
    checks = [("no errors (5xx, connection errors, unexpected 4xx)", not errors,
               f"{len(errors)} errors" + (": " + "; ".join(
                   f"{n}× {text}" for text, n in collections.Counter(
                       re.sub(r"/\d+(?=/|:)", "/{id}", t) for _, t in errors).most_common(3))
                   if errors else ""))]
    if conflicts.get("update: still stale after the retry"):
        checks.append(("updates: 409 after the re-read and retry", True,
                       f"{conflicts['update: still stale after the retry']} (informational)"))
    checks.extend(checks_db)

    widths = [max(len(str(row[i])) for row in [head, *table]) for i in range(len(head))]
    line = "  ".join

    print()
    print(f"Kefu load test: {info}; {'kefu serve' if args.server == 'serve' else 'gunicorn kefu.wsgi'}"
          f" with {args.workers} workers; {args.clients} clients for {wall:.1f} s"
          + (f" (max {args.max_requests:,} requests)" if args.max_requests else ""))
    print(line(str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(head, widths, strict=True))))
    print(line("-" * w for w in widths))
    for row in table:
        print(line(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    print(line("-" * w for w in widths))
    if args.load_before is not None:
        print(f"machine: {os.cpu_count()} cores, load average {args.load_before:.2f} before the run, "
              f"{os.getloadavg()[0]:.2f} after it (1 min)")
    print(f"throughput: {total / wall:.1f} requests/s, {creates / wall:.1f} tickets created/s "
          f"({creates:,} tickets)")
    for name, ok, detail in checks:
        print(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    summary = {
        "backend": info, "server": args.server, "workers": args.workers, "clients": args.clients,
        "seconds": round(wall, 2), "requests": total, "requests_per_s": round(total / wall, 1),
        "tickets_created": creates, "errors": len(errors),
        "load_average": [args.load_before, os.getloadavg()[0]] if args.load_before is not None else None,
        "operations": numbers,
        "checks": [{"check": n, "ok": ok, "detail": d} for n, ok, d in checks],
    }
    return all(ok for _, ok, _ in checks), summary


# --- main -------------------------------------------------------------------------------------

def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # run the finally blocks: stop gunicorn, drop the database


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the clients run (60)")
    parser.add_argument("--max-requests", type=int, default=0,
                        help="stop after this many requests in all (0: only the time bounds)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--backend", choices=["auto", "sqlite", "postgresql"], default="auto",
                        help="auto: PostgreSQL when KEFU_DATABASE_URL is set, else SQLite")
    parser.add_argument("--server", choices=["serve", "gunicorn"], default="serve",
                        help="kefu serve (gunicorn_conf.py) or plain gunicorn kefu.wsgi")
    parser.add_argument("--claim-ratio", type=float, default=0.3,
                        help="share of iterations that also claim a pool ticket (0.3)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch database and the gunicorn logs (prints where)")
    parser.add_argument("--json", metavar="PATH", help="also write the summary as JSON here")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or args.workers < 1 or args.max_requests < 0:
        parser.error("--seconds, --clients and --workers must be positive")
    if args.seconds > 600:
        parser.error("--seconds: at most 600 (a bounded test)")

    url = os.environ.get("KEFU_DATABASE_URL", "")
    backend = args.backend
    if backend == "auto":
        backend = "postgresql" if url else "sqlite"
    if backend == "postgresql":
        url = url or "postgres://postgres@127.0.0.1:5432/postgres"
        if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
            parser.error(f"KEFU_DATABASE_URL is not a PostgreSQL URL: {url}")
        host = urlsplit(url).hostname or "localhost"
        if host not in {"127.0.0.1", "localhost", "::1"}:
            parser.error(f"loopback only: KEFU_DATABASE_URL points at {host}")
    signal.signal(signal.SIGTERM, _terminate)

    run_id = time.strftime("%Y%m%d%H%M%S")
    scratch = ScratchDatabase(backend, url, keep=args.keep)
    server = None
    try:
        scratch.create()
        configure(scratch)
        info = backend_info()
        say(f"{info}; scratch {scratch.pg_name or scratch.data_dir}")
        agents, customers = make_cast(args.clients, run_id)
        from django.db import connections

        connections.close_all()  # no connection of ours open while the server works
        server = Server(args.server, args.workers, scratch.data_dir)
        server.start()
        say(f"{args.server} on 127.0.0.1:{server.port} with {args.workers} workers; "
            f"{args.clients} clients for {args.seconds:g} s …")
        args.load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        clients, wall = run_clients(server.port, agents, customers, args.seconds,
                                    args.max_requests, run_id, args.claim_ratio)
        server.stop()  # every request answered and logged before the checks read the logs
        checks_db = database_checks(clients, server)
        ok, summary = report(args, info, clients, wall, server, checks_db)
        if args.json:
            Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        if args.keep:
            say(f"gunicorn output: {server.out_path}, {server.err_path}")
        return 0 if ok else 1
    except (RuntimeError, OSError) as exc:
        say(f"load test failed to run: {exc}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        if server is not None:
            server.stop()
        scratch.close()


if __name__ == "__main__":
    sys.exit(main())
