"""Production mode, end to end: `check --deploy` is clean; a missing or weak secret stops every
command with one line on stderr; `kefu serve` serves the Chinese login page and whitenoise's
static files through gunicorn; `kefu worker` runs the SLA monitor from Redis and only one
consumer schedules it.

The servers run as subprocesses in KEFU_MODE=production on a database of their own: a SQLite
file in a temporary data dir, or a scratch PostgreSQL database (kefu_serve_test_<pid>) when the
suite runs on PostgreSQL. Redis db 15 is the workers' queue; only that db is flushed. Every
subprocess is bounded by a timeout, so a hang fails the test instead of stalling the run.
"""

import contextlib
import datetime
import gzip
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

REDIS_URL = "redis://127.0.0.1:6379/15"
SECRET_KEY = secrets.token_urlsafe(48)
FIELD_KEY = secrets.token_urlsafe(32)
LAST_RUN = "kefu:last-run:sla_monitor"
CLAIM = "kefu:periodic-claim:"


def production_env(data_dir, **extra):
    # Nothing of the test process's own set-up: KEFU_* settings, and the async-unsafe switch the
    # browser tests set for Playwright (check --deploy rightly refuses it: async.E001).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KEFU_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        KEFU_MODE="production",
        KEFU_DATA_DIR=str(data_dir),
        KEFU_SECRET_KEY=SECRET_KEY,
        KEFU_FIELD_KEY=FIELD_KEY,
        KEFU_ALLOWED_HOSTS="kefu.example.com,127.0.0.1",
        KEFU_CSRF_TRUSTED_ORIGINS="https://kefu.example.com",
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run_kefu(args, env, timeout=60):
    return subprocess.run([sys.executable, "-m", "kefu", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def shown(result):
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


# ---------------------------------------------------------------------------------------------
# Settings: check --deploy, refusals


def test_check_deploy_is_clean_in_production(tmp_path):
    result = run_kefu(["check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert result.returncode == 0, shown(result)
    assert "System check identified no issues" in result.stdout, shown(result)
    assert "WARNING" not in result.stderr and "security." not in result.stderr, shown(result)


def test_the_site_url_gives_the_allowed_host_and_csrf_origin(tmp_path):
    env = production_env(tmp_path, KEFU_ALLOWED_HOSTS=None, KEFU_CSRF_TRUSTED_ORIGINS=None,
                         KEFU_SITE_URL="https://kefu.example.com", KEFU_SECURE_SSL_REDIRECT="false",
                         KEFU_PROXY_SSL_HEADER="X-Forwarded-Protocol")
    code = ("from django.conf import settings as s; print(s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)")
    result = run_kefu(["shell", "-c", code], env)
    assert result.returncode == 0, shown(result)
    assert result.stdout.strip().splitlines()[-1] == (
        "['127.0.0.1', 'localhost', '[::1]', 'kefu.example.com'] ['https://kefu.example.com'] "
        "False ('HTTP_X_FORWARDED_PROTOCOL', 'https') True True 31536000"
    )
    check = run_kefu(["check", "--deploy"], env)
    assert check.returncode == 0, shown(check)
    assert "security.W008" in check.stderr, shown(check)  # redirect off: check --deploy says so


WEAK = [
    pytest.param({"KEFU_SECRET_KEY": None}, "KEFU_SECRET_KEY", id="no-secret-key"),
    pytest.param({"KEFU_FIELD_KEY": None}, "KEFU_FIELD_KEY", id="no-field-key"),
    pytest.param({"KEFU_SECRET_KEY": "dev-" + "x1y2z3" * 10}, "KEFU_SECRET_KEY", id="dev-secret"),
    pytest.param({"KEFU_SECRET_KEY": "django-insecure-" + "a1b2c3" * 10}, "KEFU_SECRET_KEY",
                 id="django-insecure-secret"),
    pytest.param({"KEFU_SECRET_KEY": secrets.token_urlsafe(32)}, "KEFU_SECRET_KEY",
                 id="short-secret"),
    pytest.param({"KEFU_FIELD_KEY": "too-short-a-key"}, "KEFU_FIELD_KEY", id="short-field-key"),
    pytest.param({"KEFU_FIELD_KEY": SECRET_KEY}, "KEFU_FIELD_KEY", id="same-key-twice"),
    pytest.param({"KEFU_DEBUG": "true"}, "KEFU_DEBUG", id="debug"),
]


def assert_refused(result, name, data_dir):
    assert result.returncode != 0, shown(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, shown(result)
    assert lines[0].startswith("kefu: configuration error: ") and name in lines[0], shown(result)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    # Nothing generated in production: no dev key files, no database.
    assert not {"secret_key", "field_key", "kefu.sqlite3"} & {p.name for p in data_dir.iterdir()}


@pytest.mark.parametrize(("change", "name"), WEAK)
def test_kefu_serve_refuses_missing_or_weak_secrets(tmp_path, change, name):
    result = run_kefu(["serve"], production_env(tmp_path, **change))
    assert_refused(result, name, tmp_path)


@pytest.mark.parametrize("command", [["worker"], ["check", "--deploy"], ["migrate"]])
def test_every_command_refuses_without_the_secret_key(tmp_path, command):
    result = run_kefu(command, production_env(tmp_path, KEFU_SECRET_KEY=None))
    assert_refused(result, "KEFU_SECRET_KEY", tmp_path)


def test_default_web_workers_follow_the_cores(monkeypatch):
    from kefu import settings as kefu_settings

    counts = {}
    for cores in (1, 2, 3, 16):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=cores: set(range(n)))
        counts[cores] = kefu_settings._default_web_workers()
    assert counts == {1: 3, 2: 5, 3: 7, 16: 8}


def test_gunicorn_options_take_the_command_line_overrides():
    from kefu.core.management.commands.serve import gunicorn_options

    options = gunicorn_options(bind="127.0.0.1:9001, unix:/run/kefu.sock", workers=3)
    assert options["bind"] == ["127.0.0.1:9001", "unix:/run/kefu.sock"]
    assert options["workers"] == 3
    assert options["preload_app"] is True and callable(options["pre_fork"])
    assert options["accesslog"] == "-"


# ---------------------------------------------------------------------------------------------
# A production database for the servers


@pytest.fixture(scope="module")
def production_site(tmp_path_factory):
    """Environment of a migrated production Kefu (its own database, never the test one)."""
    data_dir = tmp_path_factory.mktemp("kefu-production")
    scratch = None
    extra = {}
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        import psycopg

        scratch = f"kefu_serve_test_{os.getpid()}"
        url = urlsplit(settings.DATABASE_URL)
        admin_url = urlunsplit(url._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{scratch}"')
        extra["KEFU_DATABASE_URL"] = urlunsplit(url._replace(path=f"/{scratch}"))
    env = production_env(data_dir, **extra)
    try:
        result = run_kefu(["migrate", "--noinput", "-v", "0"], env, timeout=300)
        assert result.returncode == 0, shown(result)
        yield env
    finally:
        if scratch:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, args, env, log_dir, name):
        self.out = log_dir / f"{name}.out"
        self.err = log_dir / f"{name}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "kefu", *args], env=env,
                                         stdout=out, stderr=err)

    def logs(self):
        return (f"--- stdout\n{self.out.read_text(errors='replace')}"
                f"\n--- stderr\n{self.err.read_text(errors='replace')}")

    def alive(self):
        assert self.proc.poll() is None, f"exited with {self.proc.returncode}\n{self.logs()}"

    def stop(self, timeout=10):
        """SIGTERM; the process must exit 0 within ``timeout`` seconds. Returns the seconds."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            pytest.fail(f"did not stop within {timeout}s of SIGTERM\n{self.logs()}")
        assert code == 0, f"exit {code} after SIGTERM\n{self.logs()}"
        return time.monotonic() - started

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def server(args, env, log_dir, name):
    srv = Server(args, env, log_dir, name)
    try:
        yield srv
    finally:
        srv.kill()


def wait_until(condition, srv, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        srv.alive()
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {timeout}s\n{srv.logs()}")


# ---------------------------------------------------------------------------------------------
# kefu serve


def request(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def listening(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_kefu_serve_runs_gunicorn_with_whitenoise_static_files(production_site, tmp_path):
    port = free_port()
    env = {**production_site, "KEFU_BIND": f"127.0.0.1:{port}", "KEFU_WORKERS": "2"}
    https = {"X-Forwarded-Proto": "https"}  # what nginx in front sets
    with server(["serve"], env, tmp_path, "serve") as srv:
        wait_until(lambda: listening(port), srv, 90, f"gunicorn listening on {port}")

        # Plain http is sent to https; through the proxy the Chinese login page is served.
        status, headers, _ = request(port, "/accounts/login/")
        assert status == 301, srv.logs()
        assert headers["location"] == f"https://127.0.0.1:{port}/accounts/login/"
        status, headers, body = request(
            port, "/accounts/login/", {**https, "X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
        page = body.decode()
        assert status == 200, srv.logs()
        assert "登录客服系统" in page and headers["content-language"] == "zh-hans"
        assert headers["strict-transport-security"].startswith("max-age=31536000")
        assert "Secure" in headers["set-cookie"]

        # Static files: hashed names from the manifest, served by whitenoise, cached forever,
        # gzip for clients that take it; the plain name works too.
        css = re.search(r'href="(/static/kefu\.[0-9a-f]{12}\.css)"', page)
        assert css, page
        status, headers, body = request(port, css.group(1), {**https, "Accept-Encoding": "gzip"})
        assert status == 200, srv.logs()
        assert "immutable" in headers["cache-control"]
        assert headers.get("content-encoding") == "gzip"
        assert b"{" in gzip.decompress(body)
        status, _, body = request(port, "/static/kefu.css", https)
        assert status == 200 and b"{" in body

        seconds = srv.stop(timeout=15)
    assert seconds < 10, srv.logs()
    log = srv.out.read_text()
    assert '"GET /accounts/login/ HTTP/1.1" 200' in log, srv.logs()  # access log on stdout
    # The client as nginx saw it (the rightmost untrusted hop), not nginx's own address.
    assert '198.51.100.7 - - [' in log, srv.logs()
    assert "Booting worker" in srv.err.read_text()


def test_gunicorn_runs_with_the_config_module(production_site, tmp_path):
    """For operators who run gunicorn themselves: `gunicorn -c python:kefu.gunicorn_conf`."""
    collected = run_kefu(["collectstatic", "--noinput", "-v", "0"], production_site, timeout=120)
    assert collected.returncode == 0, shown(collected)
    port = free_port()
    env = {**production_site, "KEFU_BIND": f"127.0.0.1:{port}", "KEFU_WORKERS": "1"}
    with open(tmp_path / "g.out", "wb") as out, open(tmp_path / "g.err", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:kefu.gunicorn_conf"],
                                env=env, stdout=out, stderr=err)
    srv = Server.__new__(Server)
    srv.proc, srv.out, srv.err = proc, tmp_path / "g.out", tmp_path / "g.err"
    try:
        wait_until(lambda: listening(port), srv, 60, f"gunicorn listening on {port}")
        status, _, body = request(port, "/accounts/login/", {"X-Forwarded-Proto": "https"})
        assert status == 200 and "登录客服系统" in body.decode(), srv.logs()
        srv.stop(timeout=15)
    finally:
        srv.kill()


def test_the_client_address_comes_from_trusted_proxies_only():
    from kefu.gunicorn_conf import RealClientAddress

    seen = []
    app = RealClientAddress(lambda environ, start: seen.append(environ["REMOTE_ADDR"]),
                            "127.0.0.1,::1,10.0.0.0/8")

    def client(peer, forwarded=None):
        environ = {"REMOTE_ADDR": peer}
        if forwarded is not None:
            environ["HTTP_X_FORWARDED_FOR"] = forwarded
        app(environ, None)
        return seen[-1]

    assert client("127.0.0.1") == "127.0.0.1"
    assert client("127.0.0.1", "198.51.100.7") == "198.51.100.7"
    # A client's own X-Forwarded-For is ignored: the hop the proxy appended counts.
    assert client("127.0.0.1", "1.2.3.4, 198.51.100.7") == "198.51.100.7"
    # Through a load balancer (10.x) and nginx: the first untrusted hop from the right.
    assert client("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.5") == "198.51.100.7"
    # An untrusted peer cannot claim another address.
    assert client("203.0.113.50", "198.51.100.7") == "203.0.113.50"
    assert client("127.0.0.1", "not-an-ip") == "127.0.0.1"
    assert client("", "198.51.100.7") == "198.51.100.7"  # a Unix socket
    everyone = RealClientAddress(lambda environ, start: seen.append(environ["REMOTE_ADDR"]), "*")
    everyone({"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 5.6.7.8"}, None)
    assert seen[-1] == "5.6.7.8"


# ---------------------------------------------------------------------------------------------
# kefu worker


@pytest.fixture
def redis_queue():
    """Huey on Redis db 15, as the worker subprocess sees it; the db is emptied around the test."""
    import redis
    from huey import RedisHuey

    redis.Redis.from_url(REDIS_URL).flushdb()
    queue = RedisHuey("kefu", url=REDIS_URL)
    yield queue
    redis.Redis.from_url(REDIS_URL).flushdb()


def claims(queue):
    return sorted(k.decode() for k in queue.storage.conn.hkeys(queue.storage.result_key)
                  if k.decode().startswith(CLAIM))


def test_kefu_worker_consumes_a_queued_sla_monitor_pass(production_site, redis_queue, tmp_path):
    def sla_monitor():
        """Stands for kefu.tickets.tasks.sla_monitor: enqueued here, run by the worker."""

    sla_monitor.__module__ = "kefu.tickets.tasks"
    enqueue = redis_queue.task()(sla_monitor)

    env = {**production_site, "KEFU_REDIS_URL": REDIS_URL, "KEFU_WORKER_THREADS": "2"}
    with server(["worker", "--no-periodic"], env, tmp_path, "worker") as srv:
        enqueue()
        run = wait_until(lambda: redis_queue.get(LAST_RUN, peek=True), srv, 60,
                         "the SLA monitor pass recorded")
        assert run["ok"], run["error"]
        assert set(run["result"]) == {"warned", "breached", "response_breached", "handoff_breached"}
        assert redis_queue.pending_count() == 0

        status = run_kefu(["worker", "--status"], env)
        assert status.returncode == 0, shown(status)
        assert "warned=0" in status.stdout and status.stderr == "", shown(status)

        srv.stop(timeout=15)
    assert "Periodic tasks are disabled" in srv.err.read_text(), srv.logs()
    assert claims(redis_queue) == []  # --no-periodic: this consumer scheduled nothing


def test_two_workers_run_the_periodic_sla_monitor_once_a_minute(production_site, redis_queue,
                                                                  tmp_path):
    env = {**production_site, "KEFU_REDIS_URL": REDIS_URL, "KEFU_WORKER_THREADS": "1"}
    with server(["worker"], env, tmp_path, "w1") as w1, server(["worker"], env, tmp_path, "w2") as w2:
        # Both schedulers look at the periodic tasks as soon as they start.
        for srv in (w1, w2):
            wait_until(lambda srv=srv: "Periodic tasks are enabled" in srv.err.read_text(), srv, 60,
                       "consumer started")
        wait_until(lambda: redis_queue.get(LAST_RUN, peek=True), w1, 30, "SLA monitor ran")
        time.sleep(3)  # time for a second, duplicate run to show up if there were one
        runs = sum(srv.err.read_text().count("Executing kefu.tickets.tasks.sla_monitor")
                   for srv in (w1, w2))
        minutes = claims(redis_queue)
        # One run per claimed minute (two only if the start straddled a minute boundary).
        assert 1 <= len(minutes) <= 2 and runs == len(minutes), (minutes, w1.logs(), w2.logs())
        for srv in (w1, w2):
            srv.stop(timeout=15)

    status = run_kefu(["worker", "--status", "--max-age", "5"], env)
    assert status.returncode == 0, shown(status)


def test_only_one_scheduler_claims_a_minute():
    from huey import MemoryHuey, crontab

    from kefu.core.management.commands.worker import ClaimingScheduler

    queue = MemoryHuey("claims")

    @queue.periodic_task(crontab(minute="*"))
    def every_minute():
        pass

    first, second = (ClaimingScheduler(queue, interval=1, periodic=True) for _ in range(2))
    at = datetime.datetime(2026, 11, 30, 8, 0, 10)
    first.enqueue_periodic_tasks(at)
    second.enqueue_periodic_tasks(at + datetime.timedelta(seconds=30))
    assert queue.pending_count() == 1
    second.enqueue_periodic_tasks(at + datetime.timedelta(minutes=1))
    first.enqueue_periodic_tasks(at + datetime.timedelta(minutes=1, seconds=20))
    assert queue.pending_count() == 2
    third = at + datetime.timedelta(minutes=2)
    first.enqueue_periodic_tasks(third)
    assert queue.pending_count() == 3
    # The claim from two minutes before the newest is cleared; recent ones stay.
    assert queue.get(CLAIM + at.strftime("%Y%m%d%H%M"), peek=True) is None
    assert queue.get(CLAIM + third.strftime("%Y%m%d%H%M"), peek=True)


def test_the_worker_refuses_an_immediate_queue(tmp_path):
    env = production_env(tmp_path, KEFU_MODE="development", KEFU_HUEY_IMMEDIATE="true",
                         KEFU_SECRET_KEY=None, KEFU_FIELD_KEY=None)
    result = run_kefu(["worker", "--skip-checks"], env)
    assert result.returncode != 0
    assert "KEFU_HUEY_IMMEDIATE" in result.stderr and "Traceback" not in result.stderr
