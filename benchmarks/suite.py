"""The benchmark suite of issue 5: the operations `make bench` times (see run.py for the table,
the JSON lines and the command line).

Every operation runs against the configured database (KEFU_DATABASE_URL, or the SQLite file in
KEFU_DATA_DIR) holding at least KEFU_BENCH_TICKETS tickets; fewer, and the bulk generator
(``kefu demo --tickets N``) fills it first. Each operation is warmed up, then repeated; it
reports the median and p95 of one call in ms, the database queries of one call (counted with
``CaptureQueriesContext`` on one extra call after the timed ones) and the throughput (calls per
second over the timed loop, or over the wall clock with several HTTP clients).

In-process operations call the service or go through ``django.test.Client`` (the whole Django
stack, no HTTP server). "gunicorn" operations start ``gunicorn kefu.wsgi -w 2`` on a free
loopback port with the same environment and drive it with ``http.client`` connections from
threads of this process; their query count is the in-process count of the same request.

The tickets the create operations take in are deleted at the end (by their subject and this
run's start time), so repeated runs keep the data size; the 50-event ticket, the API token and
the session are the suite's own and reused or removed.
"""

import contextlib
import datetime
import http.client
import itertools
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TICKETS = 20_000
BENCH_SUBJECT = "【基准测试】"  # subject prefix of the tickets the create operations take in
DETAIL_SUBJECT = "【基准测试】五十条动态"  # the ticket the detail page shows
SAMPLE_CUSTOMERS = 200  # the random-customer intake draws from this many
DETAIL_EVENTS = 50
DEEP_PAGES = 50  # the API's deep page: follow this many next cursors first
PAGE_LIMIT = 25
FEED_BEHIND = 2_000  # the event feed read as a dispatcher polls it: this many events behind


@dataclass
class Result:
    operation: str
    size: int
    backend: str
    median_ms: float | None = None
    p95_ms: float | None = None
    queries: int | None = None
    throughput: float | None = None  # calls per second
    n: int = 0
    note: str = ""
    extra: dict = field(default_factory=dict)


# --- environment ------------------------------------------------------------------------------

def configure():
    """Environment before Django reads its settings; then Django and migrations.

    KEFU_DATA_DIR defaults to var/bench (not var/, the `make run` database), KEFU_DEBUG is
    forced off (DEBUG keeps every query in memory and renders differently)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    os.environ["KEFU_DEBUG"] = "false"
    if not os.environ.get("KEFU_DATA_DIR"):
        os.environ["KEFU_DATA_DIR"] = str(ROOT / "var" / "bench")
    # whitenoise warns about a missing STATIC_ROOT in every process it starts in
    Path(os.environ["KEFU_DATA_DIR"], "static").mkdir(parents=True, exist_ok=True)
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def backend_name():
    from django.db import connection

    return connection.vendor  # "sqlite" or "postgresql"


def backend_version():
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        return cursor.fetchone()[0]


# --- measuring --------------------------------------------------------------------------------

def percentile(ordered, q):
    """Nearest rank of a sorted list (None when empty)."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else None


def summarise(name, size, backend, samples, wall, queries=None, note="", **extra):
    ordered = sorted(samples)
    return Result(
        operation=name, size=size, backend=backend,
        median_ms=statistics.median(ordered) * 1000, p95_ms=percentile(ordered, 0.95) * 1000,
        queries=queries, throughput=len(ordered) / wall if wall > 0 else None, n=len(ordered),
        note=note, extra=extra,
    )


def count_queries(call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


def measure(name, size, backend, call, n, warmup=None):
    """Time ``call()`` n times after a warm-up; count the queries of one more call."""
    for _ in range(max(3, n // 10) if warmup is None else warmup):
        call()
    samples = []
    began = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    wall = time.perf_counter() - began
    return summarise(name, size, backend, samples, wall, queries=count_queries(call))


# --- gunicorn ---------------------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(proc, port, tail, *, what, timeout=90):
    """Until the login page answers 200 on ``port``; RuntimeError with ``tail()`` (the server's
    last log lines) when ``proc`` exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/accounts/login/")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout} s:\n{tail()}")


class Gunicorn:
    """``gunicorn kefu.wsgi -w 2 -b 127.0.0.1:<free port>`` with this process's environment,
    for the duration of a ``with`` block. Stopped by its own pid (SIGTERM, then SIGKILL)."""

    def __init__(self, workers=2):
        self.workers, self.port, self.proc = workers, free_port(), None
        fd, self.log_path = tempfile.mkstemp(prefix="kefu-bench-gunicorn-", suffix=".log")
        self.log = os.fdopen(fd, "wb")

    def __enter__(self):
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn) if gunicorn.exists() else "gunicorn", "kefu.wsgi",
                   "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                   "--log-level", "warning", "--timeout", "120"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
        self.proc = subprocess.Popen(command, env=env, cwd=str(ROOT), stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout=90):
        try:
            wait_until_serving(self.proc, self.port, self.tail, what="gunicorn", timeout=timeout)
        except RuntimeError:
            self.__exit__(None, None, None)
            raise

    def tail(self, lines=30):
        self.log.flush()
        return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master stops its workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)
        return False


def http_load(port, make_request, n, clients, warmup, expect):
    """Send n requests from ``clients`` threads, each with its own keep-alive connection (the
    sync workers close it after each response; http.client then reconnects). Returns the
    per-request seconds and the wall time of the timed part."""

    def run(count, record):
        counter, lock, errors, samples = itertools.count(), threading.Lock(), [], []

        def worker():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                while not errors:
                    with lock:
                        i = next(counter)
                    if i >= count:
                        return
                    method, path, body, headers = make_request()
                    t0 = time.perf_counter()
                    try:
                        conn.request(method, path, body=body, headers=headers)
                        response = conn.getresponse()
                        data = response.read()
                    except (OSError, http.client.HTTPException) as exc:
                        conn.close()
                        errors.append(f"{method} {path}: {exc!r}")
                        return
                    elapsed = time.perf_counter() - t0
                    if response.status != expect:
                        errors.append(f"{method} {path}: {response.status} {data[:300]!r}")
                        return
                    if record:
                        with lock:
                            samples.append(elapsed)
            finally:
                conn.close()

        threads = [threading.Thread(target=worker) for _ in range(min(clients, count))]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        if errors:
            raise RuntimeError(errors[0])
        return samples, wall

    run(warmup, record=False)
    return run(n, record=True)


# --- the data set -----------------------------------------------------------------------------

def ensure_data(tickets, say):
    """At least ``tickets`` tickets, generated by ``kefu demo --tickets N`` when fewer; the
    daily counts (the report's source) recounted when they do not add up to the tickets."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from kefu.tickets.models import Ticket

    have = Ticket.objects.count()
    if have < tickets:
        from kefu.demo import bulk

        marker = bulk.info()
        if marker and marker["tickets"] < tickets:
            raise SystemExit(
                f"This database holds a generated set of {marker['tickets']:,} tickets "
                f"(kefu demo --tickets {marker['tickets']}); the generator continues a set but "
                f"does not grow it. Use an empty database for {tickets:,} tickets (another "
                "KEFU_DATA_DIR, or another KEFU_DATABASE_URL), or KEFU_BENCH_TICKETS="
                f"{marker['tickets']}.")
        target = marker["tickets"] if marker else tickets
        say(f"generating: kefu demo --tickets {target} (the database has {have:,} tickets)")
        began = time.perf_counter()
        try:
            call_command("demo", tickets=target, stdout=sys.stderr)
        except CommandError as exc:
            raise SystemExit(f"kefu demo --tickets {target}: {exc}") from None
        say(f"generated in {time.perf_counter() - began:.1f} s")
    _check_daily_counts(say)
    _refresh_statistics(say)


def _refresh_statistics(say):
    """The planner statistics as the worker's nightly job leaves them (kefu.core.dbstats):
    SQLite has none until ANALYZE, and plans an agent's queue as a read of every ticket in
    scope without them."""
    try:
        from kefu.core import dbstats
    except ImportError:
        return
    began = time.perf_counter()
    dbstats.refresh()
    say(f"planner statistics refreshed in {time.perf_counter() - began:.1f} s")


def _check_daily_counts(say):
    try:
        from kefu.tickets import stats
        from kefu.tickets.models import TicketStat
    except ImportError:
        return
    from django.db.models import Sum

    from kefu.tickets.models import Ticket

    counted = TicketStat.objects.aggregate(n=Sum("count"))["n"] or 0
    total = Ticket.objects.count()
    if counted != total and hasattr(stats, "rebuild"):
        began = time.perf_counter()
        rows = stats.rebuild()
        say(f"daily counts rebuilt ({counted:,} counted for {total:,} tickets): {rows:,} rows "
            f"in {time.perf_counter() - began:.1f} s")


def pick_supervisor():
    """A supervisor (the weekly review is theirs), or None when the data has none."""
    from django.contrib.auth import get_user_model

    return (get_user_model().objects.filter(groups__name="supervisor", is_active=True)
            .order_by("pk").first())


def pick_agent():
    """The agent who owns the most open tickets (their "mine" queue is the fullest); a bench
    agent of our own when the data has none."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from kefu.tickets.models import Ticket

    User = get_user_model()
    top = (Ticket.objects.open().filter(owner__groups__name="agent", owner__is_active=True)
           .values("owner").annotate(n=Count("id")).order_by("-n", "owner").first())
    if top:
        return User.objects.get(pk=top["owner"])
    user = User.objects.filter(username="bench-agent").first()
    if user is None:
        from kefu.accounts.services import staff_create

        user = staff_create(username="bench-agent", password=None, display_name="压测坐席",
                            employee_no="BENCH-A1", role="agent")
    return user


def detail_ticket(agent, customer, refs):
    """The suite's ticket with 50 events (created once, reused by later runs)."""
    from kefu.tickets import services
    from kefu.tickets.models import Ticket

    ticket = Ticket.objects.filter(subject=DETAIL_SUBJECT).order_by("pk").first()
    if ticket is None:
        ticket = services.ticket_create(actor=agent, customer=customer, subject=DETAIL_SUBJECT,
                                        description="打印机进纸口卡纸，显示 E-01。", **refs)
    missing = DETAIL_EVENTS - ticket.events.count()
    for k in range(missing):
        services.ticket_add_note(actor=agent, ticket=ticket, text=f"第 {k + 1} 条进展：已联系客户，继续跟进。",
                                 customer_visible=k % 3 == 0)
    return ticket


def phone_sample(count, seed=5):
    """Phone numbers of random customers (decrypted from the rows)."""
    from django.db.models import Max, Min

    from kefu.customers.models import Phone

    bounds = Phone.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return []
    rng = random.Random(seed)
    ids = {rng.randint(bounds["lo"], bounds["hi"]) for _ in range(count * 2)}
    phones = list(Phone.objects.filter(pk__in=ids)[:count])
    return [p.number for p in phones]


# --- the suite --------------------------------------------------------------------------------

class Suite:
    """Set up once (data, user, token, session, the 50-event ticket), then ``run()`` yields
    one Result per operation."""

    def __init__(self, *, tickets=DEFAULT_TICKETS, repeat=100, creates=300, http_creates=1000,
                 clients=4, gunicorn=True, only=(), say=print):
        self.tickets, self.repeat, self.creates = tickets, repeat, creates
        self.http_creates, self.clients, self.gunicorn, self.only = http_creates, clients, gunicorn, only
        self.say = say

    def wanted(self, name):
        return not self.only or any(part.lower() in name.lower() for part in self.only)

    # -- setup ---------------------------------------------------------------------------------

    def setup(self):
        from django.test import Client

        from kefu.accounts.services import token_create
        from kefu.customers.models import Customer
        from kefu.tickets.models import Channel, Priority, Ticket, TicketType

        self.started = datetime.datetime.now(datetime.UTC)
        ensure_data(self.tickets, self.say)
        self.backend = backend_name()
        self.size = Ticket.objects.count()
        self.customers = Customer.objects.count()
        self.agent = pick_agent()
        self.customer = Customer.objects.visible_to(self.agent).order_by("pk").first()
        self.refs = {"channel": Channel.objects.get(code="phone"),
                     "ticket_type": TicketType.objects.get(code="fault"),
                     "priority": Priority.objects.get(code="normal")}
        self.detail = detail_ticket(self.agent, self.customer, self.refs)
        self.token_row, self.token = token_create(user=self.agent, name="benchmark suite")
        self.api = Client(headers={"Authorization": f"Bearer {self.token}"})
        self.browser = Client()
        self.browser.force_login(self.agent)
        self.session_cookie = f"sessionid={self.browser.cookies['sessionid'].value}"
        self.supervisor = pick_supervisor()
        self.boss, self.boss_cookie = None, None
        if self.supervisor is not None:
            self.boss = Client()
            self.boss.force_login(self.supervisor)
            self.boss_cookie = f"sessionid={self.boss.cookies['sessionid'].value}"
        self.serial = itertools.count()
        self.run_id = time.time_ns()
        self.queries = {}  # in-process query counts, shown for the gunicorn rows too
        self.say(f"{self.backend} {backend_version()}: {self.size:,} tickets, "
                 f"{self.customers:,} customers; acting as {self.agent.username}")

    def teardown(self):
        from django.db.models import Q

        from kefu.accounts.models import ApiToken
        from kefu.tickets.models import Ticket

        with contextlib.suppress(Exception):
            self.browser.logout()
            if self.boss is not None:
                self.boss.logout()
        ApiToken.objects.filter(pk=self.token_row.pk).delete()
        created = Ticket.objects.filter(Q(subject__startswith=BENCH_SUBJECT) & ~Q(subject=DETAIL_SUBJECT),
                                        created_at__gte=self.started)
        began, count = time.perf_counter(), 0
        for pk_batch in _batches(list(created.values_list("pk", flat=True)), 500):
            count += len(pk_batch)
            for ticket in Ticket.objects.filter(pk__in=pk_batch):
                ticket.delete()
        if count:
            self.say(f"removed the {count:,} tickets taken in by this run "
                     f"({time.perf_counter() - began:.1f} s)")

    # -- helpers -------------------------------------------------------------------------------

    def result(self, name, call, n, warmup=None):
        r = measure(name, self.size, self.backend, call, n, warmup)
        self.queries[name] = r.queries
        return r

    def get(self, client, path, expect=200):
        def call():
            response = client.get(path)
            if response.status_code != expect:
                raise RuntimeError(f"GET {path}: {response.status_code} {response.content[:300]!r}")
            return response
        return call

    def create_payload(self):
        i = next(self.serial)
        return {"customer_id": self.customer.pk, "channel": "phone", "ticket_type": "fault",
                "priority": "normal", "subject": f"{BENCH_SUBJECT}打印机卡纸 {i}",
                "description": "进纸口卡纸，显示 E-01"}, f"bench-{self.run_id}-{i}"

    def sample_customers(self, count=SAMPLE_CUSTOMERS):
        """Customers the acting agent may take tickets in for, spread over the table."""
        from django.db.models import Max, Min

        from kefu.customers.models import Customer

        visible = Customer.objects.visible_to(self.agent)
        bounds = visible.aggregate(lo=Min("pk"), hi=Max("pk"))
        rng = random.Random(3)
        ids = {rng.randint(bounds["lo"], bounds["hi"]) for _ in range(count * 20)}
        return list(visible.filter(pk__in=ids)[:count]) or [self.customer]

    def supervisor_paths(self):
        """Pages of a supervisor's session: the weekly review (周复盘) of the current week, a few
        thousand tickets' worth at one million; none when the data has no supervisor."""
        return [("page: weekly review (supervisor)", "/tickets/review/")] if self.boss else []

    def queue_paths(self):
        from kefu.tickets.models import Priority, TicketType

        fault = TicketType.objects.get(code="fault").pk
        normal = Priority.objects.get(code="normal").pk
        return [
            ("page: queue mine", "/tickets/?q=mine"),
            ("page: queue pool", "/tickets/?q=pool"),
            ("page: queue overdue", "/tickets/?q=overdue"),
            ("page: queue due_soon", "/tickets/?q=due_soon"),
            ("page: queue overdue + type + priority", f"/tickets/?q=overdue&ticket_type={fault}&priority={normal}"),
            ("page: queue tab counts (htmx, after the page)", "/tickets/counts/"),
            (f"page: ticket detail ({DETAIL_EVENTS} events)", f"/tickets/{self.detail.pk}/"),
        ]

    def feed_positions(self):
        """The event feed read from the start and, as a webhook dispatcher polls it, from
        FEED_BEHIND events before the newest."""
        from kefu.tickets.models import TicketEvent

        newest = TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        return [("API: GET /tickets/events from the start (in-process)", 0),
                (f"API: GET /tickets/events {FEED_BEHIND:,} behind the newest (in-process)",
                 max(0, newest - FEED_BEHIND))]

    def deep_cursor(self):
        """Follow next_cursor DEEP_PAGES times from the first page; (cursor, page number)."""
        cursor, page = None, 1
        for _ in range(DEEP_PAGES):
            query = f"?limit={PAGE_LIMIT}" + (f"&cursor={cursor}" if cursor else "")
            body = self.api.get(f"/api/v1/tickets{query}").json()
            if not body.get("next_cursor"):
                break
            cursor, page = body["next_cursor"], page + 1
        return cursor, page

    # -- the operations ------------------------------------------------------------------------

    def run(self):
        yield from self.in_process()
        if self.gunicorn:
            yield from self.through_gunicorn()

    def in_process(self):
        from kefu.customers.queries import lookup_by_phone
        from kefu.tickets import services
        from kefu.tickets.monitor import sla_monitor_pass

        name = "service: ticket_create"
        if self.wanted(name):
            def create():
                services.ticket_create(actor=self.agent, customer=self.customer,
                                       subject=f"{BENCH_SUBJECT}打印机卡纸 {next(self.serial)}",
                                       description="进纸口卡纸，显示 E-01", **self.refs)
            yield self.result(name, create, self.creates)

        # As intake is: each ticket for another customer, so the customer's index pages are
        # mostly not in the cache (the row above repeats one customer, as earlier runs did).
        name = "service: ticket_create, random customers"
        if self.wanted(name):
            customers = self.sample_customers()
            rng = random.Random(7)

            def create_for_anyone():
                services.ticket_create(actor=self.agent, customer=rng.choice(customers),
                                       subject=f"{BENCH_SUBJECT}打印机卡纸 {next(self.serial)}",
                                       description="进纸口卡纸，显示 E-01", **self.refs)
            r = self.result(name, create_for_anyone, self.creates)
            r.note = f"{len(customers)} customers"
            yield r

        name = "API: POST /tickets (in-process)"
        if self.wanted(name):
            def api_create():
                payload, key = self.create_payload()
                response = self.api.post("/api/v1/tickets", payload, content_type="application/json",
                                         headers={"Idempotency-Key": key})
                if response.status_code != 201:
                    raise RuntimeError(f"API create: {response.status_code} {response.content[:300]!r}")
            yield self.result(name, api_create, self.creates)

        for name, path in self.queue_paths():
            name = f"{name} (in-process)"
            if self.wanted(name):
                yield self.result(name, self.get(self.browser, path), self.repeat)
        for name, path in self.supervisor_paths():
            name = f"{name} (in-process)"
            if self.wanted(name):
                yield self.result(name, self.get(self.boss, path), max(3, self.repeat // 5))

        self.cursor, self.cursor_page = None, 1
        name = "API: GET /tickets first page (in-process)"
        if self.wanted(name):
            yield self.result(name, self.get(self.api, f"/api/v1/tickets?limit={PAGE_LIMIT}"), self.repeat)
        name = "API: GET /tickets deep page, keyset (in-process)"
        if self.wanted(name) or self.wanted(name.replace("in-process", "gunicorn")):
            self.cursor, self.cursor_page = self.deep_cursor()
        if self.wanted(name):
            r = self.result(name, self.get(self.api, self._deep_path()), self.repeat)
            r.note = f"page {self.cursor_page}"
            yield r

        for name, after in self.feed_positions():
            if self.wanted(name):
                r = self.result(name, self.get(self.api, f"/api/v1/tickets/events?after={after}&limit=100"),
                                self.repeat)
                r.note = f"after={after:,}, limit 100"
                yield r

        name = "lookup_by_phone"
        if self.wanted(name):
            phones = phone_sample(max(self.repeat * 5, 100))
            if phones:
                cycle = itertools.cycle(phones)

                def lookup():
                    phone = next(cycle)
                    if not lookup_by_phone(self.agent, phone):
                        raise RuntimeError(f"lookup_by_phone({phone}) found nobody")
                r = self.result(name, lookup, self.repeat * 5)
                r.note = f"{len(phones)} phones of {self.customers:,} customers"
                yield r

        name = "sla_monitor_pass"
        if self.wanted(name):
            began = time.perf_counter()
            caught_up = sla_monitor_pass()  # catch-up after a pause: not timed
            catch_up_s = time.perf_counter() - began
            r = self.result(name, sla_monitor_pass, max(5, self.repeat // 5), warmup=1)
            done = {k: v for k, v in caught_up.items() if v}
            r.note = (f"catch-up pass {catch_up_s:.1f} s: {done}" if done else "steady state")
            yield r

        name = "report: status × type × month"
        if self.wanted(name):
            try:
                from kefu.tickets.stats import status_type_month
            except ImportError:
                yield Result(name, self.size, self.backend, note="n/a (kefu.tickets.stats missing)")
            else:
                rows = []
                r = self.result(name, lambda: rows.append(len(status_type_month())), self.repeat)
                r.note = f"{rows[-1]:,} rows"
                yield r

    def _deep_path(self):
        return f"/api/v1/tickets?limit={PAGE_LIMIT}" + (f"&cursor={self.cursor}" if self.cursor else "")

    def through_gunicorn(self):
        ops = []
        name = "API: POST /tickets (gunicorn)"
        if self.wanted(name):
            def post():
                payload, key = self.create_payload()
                return ("POST", "/api/v1/tickets", json.dumps(payload).encode(), {
                    "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                    "Idempotency-Key": key})
            ops.append((name, post, self.http_creates, self.clients, 201, "API: POST /tickets (in-process)"))
        for label, path in self.queue_paths():
            name = f"{label} (gunicorn)"
            if self.wanted(name):
                ops.append((name, _fixed("GET", path, {"Cookie": self.session_cookie}), self.repeat, 1,
                            200, f"{label} (in-process)"))
        for label, path in self.supervisor_paths():
            name = f"{label} (gunicorn)"
            if self.wanted(name):
                ops.append((name, _fixed("GET", path, {"Cookie": self.boss_cookie}), max(3, self.repeat // 5),
                            1, 200, f"{label} (in-process)"))
        bearer = {"Authorization": f"Bearer {self.token}"}
        name = "API: GET /tickets first page (gunicorn)"
        if self.wanted(name):
            ops.append((name, _fixed("GET", f"/api/v1/tickets?limit={PAGE_LIMIT}", bearer), self.repeat,
                        1, 200, "API: GET /tickets first page (in-process)"))
        name = "API: GET /tickets deep page, keyset (gunicorn)"
        if self.wanted(name):
            ops.append((name, _fixed("GET", self._deep_path(), bearer), self.repeat, 1, 200,
                        "API: GET /tickets deep page, keyset (in-process)"))
        if not ops:
            return
        from django.db import connections

        connections.close_all()  # SQLite: no transaction of ours in the way of the workers
        with Gunicorn(workers=2) as server:
            self.say(f"gunicorn kefu.wsgi -w 2 on 127.0.0.1:{server.port}")
            for name, make, n, clients, expect, twin in ops:
                samples, wall = http_load(server.port, make, n, clients, warmup=max(10, n // 10),
                                          expect=expect)
                r = summarise(name, self.size, self.backend, samples, wall,
                              queries=self.queries.get(twin))
                r.note = f"{clients} client{'s' if clients > 1 else ''}"
                if "deep page" in name:
                    r.note += f", page {self.cursor_page}"
                yield r


def _fixed(method, path, headers):
    return lambda: (method, path, None, headers)


def _batches(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]
