"""gunicorn settings for Kefu, from the KEFU_* variables read in kefu/settings.py.

`kefu serve` runs gunicorn with these. To run gunicorn yourself (another process manager, extra
gunicorn options), collect the static files first and point gunicorn at this module:

    kefu collectstatic --noinput
    gunicorn -c python:kefu.gunicorn_conf

KEFU_BIND      where to listen, comma-separated (default 127.0.0.1:8000; unix:/run/kefu.sock)
KEFU_WORKERS   worker processes (default 2 × cores + 1, between 2 and 8)
KEFU_WEB_TIMEOUT  seconds a request may take before its worker is restarted (default 120)
KEFU_FORWARDED_ALLOW_IPS  proxies whose X-Forwarded-* headers are believed (default loopback)

Behind a proxy every request comes from the proxy's address. The WSGI application here
(``kefu.gunicorn_conf:application``, Django wrapped in ``RealClientAddress``) puts the client's
address, as the trusted proxies report it in X-Forwarded-For, into REMOTE_ADDR: the login
lockout (django-axes) counts failures per client, and the audit log of revealed personal data
records who asked from where.
"""

import ipaddress
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

from django.conf import settings as _kefu  # noqa: E402


class RealClientAddress:
    """WSGI middleware: REMOTE_ADDR becomes the nearest address in X-Forwarded-For that is not
    one of the trusted proxies (``"*"`` trusts every peer; a Unix-socket peer is trusted).
    Addresses further left were written by the client and are never believed."""

    def __init__(self, app, trusted):
        self.app = app
        items = [t.strip() for t in (trusted.split(",") if isinstance(trusted, str) else trusted)]
        self.trust_all = "*" in items
        self.networks = [ipaddress.ip_network(t, strict=False) for t in items if t and t != "*"]

    def trusted(self, address):
        if self.trust_all:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, environ):
        peer = environ.get("REMOTE_ADDR") or ""
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        peer_is_ip = True
        try:
            ipaddress.ip_address(peer)
        except ValueError:
            peer_is_ip = False  # a Unix socket: only local processes can connect
        if not forwarded or (peer_is_ip and not self.trusted(peer)):
            return peer
        hops = [hop.strip() for hop in forwarded.split(",")]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer  # garbage in the header: keep what the socket says
            if not self.trusted(hop) or self.trust_all:
                return hop
        return hops[0]

    def __call__(self, environ, start_response):
        environ["REMOTE_ADDR"] = self.client(environ)
        return self.app(environ, start_response)


def __getattr__(name):
    # `application` is built on first use (gunicorn's app loading), not when gunicorn reads this
    # module as its configuration.
    if name == "application":
        from kefu.wsgi import application

        return RealClientAddress(application, _kefu.WEB_FORWARDED_ALLOW_IPS)
    raise AttributeError(name)


wsgi_app = "kefu.gunicorn_conf:application"
bind = _kefu.WEB_BIND
workers = _kefu.WEB_WORKERS
# Synchronous workers: nginx in front buffers slow clients, and Django's ORM is synchronous.
worker_class = "sync"
timeout = _kefu.WEB_TIMEOUT
graceful_timeout = 30
keepalive = 5
# Recycle a worker now and then (jittered so they do not all restart at once): a slow leak in
# any library stays bounded. With preload a new worker is a cheap fork of the master.
max_requests = 2000
max_requests_jitter = 200
# Import Django and the URL conf once in the master: workers fork with everything loaded, and
# an import error stops `kefu serve` at once instead of looping on worker boots. Safe because
# the master closes its database connections before forking (pre_fork below); Redis clients
# reconnect after a fork by themselves. Code changes need a restart, not a HUP.
preload_app = True
accesslog = "-"  # stdout (journald); errors and gunicorn's own messages go to stderr
errorlog = "-"
# The combined log format (client address as RealClientAddress found it) and the time in ms.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
forwarded_allow_ips = _kefu.WEB_FORWARDED_ALLOW_IPS
proc_name = "kefu-web"
# gunicorn ≥ 25 opens a control socket in $HOME or $XDG_RUNTIME_DIR by default; two instances
# on one machine would fight over it. Signals (HUP, TTIN, TTOU, TERM) do the same job.
control_socket_disable = True


def pre_fork(server, worker):
    """A database connection opened in the master (system checks, migration check) must not
    be shared by forked workers: close it; each worker opens its own."""
    from django.db import connections

    connections.close_all()


def when_ready(server):
    # Everything preloaded so far lives as long as the process: move it out of the garbage
    # collector's sight, so collections in the workers do not touch (and copy) shared pages.
    import gc

    gc.freeze()
    server.log.info("Kefu is ready: %s worker(s), mode %s", server.cfg.workers, _kefu.MODE)
