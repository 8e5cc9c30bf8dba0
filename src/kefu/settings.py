"""Kefu settings: one file, every knob a ``KEFU_*`` environment variable.

The typed helpers below fail loudly (``ImproperlyConfigured``) on values they cannot read,
so a typo in a deployment is an error at start-up, never a silent default. On the command line
such an error is one line on stderr and a non-zero exit, not a traceback (see ``ConfigError``).
"""

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


class ConfigError(ImproperlyConfigured):
    """A deployment mistake found while reading the environment."""

    kefu_config_error = True  # a marker that survives the module being imported again


def _config_error_hook(exc_type, exc, tb, _previous=sys.excepthook):
    # An uncaught ConfigError (e.g. `kefu serve` in production without KEFU_SECRET_KEY) is an
    # operator's mistake, not a bug: print it as one line instead of a settings-import traceback.
    if getattr(exc_type, "kefu_config_error", False):
        sys.stderr.write(f"kefu: configuration error: {' '.join(str(exc).split())}\n")
    else:
        _previous(exc_type, exc, tb)


if getattr(sys.excepthook, "__name__", "") != _config_error_hook.__name__:
    sys.excepthook = _config_error_hook


def env(name, default=None):
    return os.environ.get(f"KEFU_{name}", default)


def envbool(name, default=False):
    raw = env(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"KEFU_{name} must be a boolean (true/false), got {raw!r}")


def envint(name, default):
    raw = env(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"KEFU_{name} must be an integer, got {raw!r}") from None


def envlist(name, default):
    raw = env(name)
    if raw is None or raw == "":
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_secret(name):
    """A secret comes from KEFU_<NAME> or from the file named by KEFU_<NAME>_FILE."""
    value = env(name)
    path = env(f"{name}_FILE")
    if value and path:
        raise ConfigError(f"Set KEFU_{name} or KEFU_{name}_FILE, not both")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"KEFU_{name}_FILE cannot be read: {exc}") from None
    return value


# "production" refuses dev conveniences (generated keys, DEBUG); "development" is `make run`.
MODE = env("MODE", "development")
if MODE not in {"development", "production", "test"}:
    raise ConfigError(f"KEFU_MODE must be development, production or test, got {MODE!r}")
PRODUCTION = MODE == "production"
DEBUG = envbool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ConfigError("KEFU_DEBUG cannot be on in production")

DATA_DIR = Path(env("DATA_DIR", str(Path.cwd() / "var"))).resolve()


def _dev_secret_file(name, factory):
    """Development only: a generated secret kept in DATA_DIR so restarts keep sessions/data."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / name
    if not path.exists():
        path.write_text(factory())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_secret("SECRET_KEY")
FIELD_KEY = env_secret("FIELD_KEY")
# Django's own floor (security.W009): a shorter SECRET_KEY makes `check --deploy` complain.
SECRET_KEY_MIN_LENGTH = 50
FIELD_KEY_MIN_LENGTH = 32  # kefu.core.crypto refuses shorter keys too
if PRODUCTION:
    if not SECRET_KEY:
        raise ConfigError("Production needs KEFU_SECRET_KEY (or KEFU_SECRET_KEY_FILE)")
    if SECRET_KEY.startswith(("dev-", "django-insecure-")):
        raise ConfigError(
            "KEFU_SECRET_KEY is a development key: production needs its own random key"
        )
    if len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH:
        raise ConfigError(
            f"KEFU_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters "
            f"(got {len(SECRET_KEY)}); generate one with `openssl rand -base64 48`"
        )
    if not FIELD_KEY:
        raise ConfigError(
            "Production needs KEFU_FIELD_KEY (or KEFU_FIELD_KEY_FILE): the key that encrypts "
            "customers' personal data. Generate one with `kefu genkey`."
        )
    if len(FIELD_KEY) < FIELD_KEY_MIN_LENGTH:
        raise ConfigError(
            f"KEFU_FIELD_KEY must be at least {FIELD_KEY_MIN_LENGTH} characters "
            f"(got {len(FIELD_KEY)}); generate one with `kefu genkey`"
        )
    if FIELD_KEY == SECRET_KEY:
        raise ConfigError("KEFU_FIELD_KEY and KEFU_SECRET_KEY must be two different keys")
else:
    SECRET_KEY = SECRET_KEY or _dev_secret_file("secret_key", lambda: "dev-" + secrets.token_urlsafe(48))
    FIELD_KEY = FIELD_KEY or _dev_secret_file("field_key", lambda: secrets.token_urlsafe(32))

# The address customers reach Kefu at (https://kefu.example.com), for links built outside a
# request: confirmation links sent by jobs and the CLI. Its host is allowed and its origin
# trusted for CSRF unless KEFU_ALLOWED_HOSTS / KEFU_CSRF_TRUSTED_ORIGINS say otherwise.
SITE_URL = env("SITE_URL", "")
_site = urlsplit(SITE_URL) if SITE_URL else None
if _site and not (_site.scheme in {"http", "https"} and _site.hostname):
    raise ConfigError(f"KEFU_SITE_URL must look like https://kefu.example.com, got {SITE_URL!r}")
_local_hosts = ["127.0.0.1", "localhost", "[::1]"] + ([] if PRODUCTION else ["testserver"])
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", _local_hosts + ([_site.hostname] if _site else []))
CSRF_TRUSTED_ORIGINS = envlist(
    "CSRF_TRUSTED_ORIGINS", [f"{_site.scheme}://{_site.netloc}"] if _site else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "huey.contrib.djhuey",
    "ninja",
    "kefu.core",
    "kefu.accounts",
    "kefu.customers",
    "kefu.tickets",
    "kefu.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kefu.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "kefu.core.middleware.DomainErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kefu.urls"
WSGI_APPLICATION = "kefu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kefu.core.context_processors.navigation",
            ],
        },
    }
]
# Django's renderer, with <input> and <textarea> written in Python (the same markup).
FORM_RENDERER = "kefu.core.forms.FastRenderer"

# Databases: SQLite (WAL) in DATA_DIR by default; KEFU_DATABASE_URL=postgres://... otherwise.
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "kefu.sqlite3"),
            # Kept between requests like PostgreSQL's: a new connection per request paid for the
            # PRAGMAs, reading the schema (about 130 indexes) and an empty page cache every time.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: a write transaction takes the write lock at BEGIN, so two writers queue
        # on busy_timeout instead of one failing with "database is locked" on upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # A page cache of up to 64 MiB per connection (the default, 2 MiB, holds a sliver of a
        # million-ticket database's indexes) and reads through a 256 MiB memory map.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
        ),
    }
    # Tests use a file too (not shared-cache memory, whose table locks ignore busy_timeout), so
    # concurrency tests see the same locking as production.
    DATABASES["default"].setdefault("TEST", {"NAME": str(DATA_DIR / "test-kefu.sqlite3")})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "kefu.accounts.backends.StaffBackend",  # ModelBackend + the staff profile, permissions cached
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if MODE == "test":
    # The test cast is created per test; full-strength PBKDF2 would dominate the run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout after repeated failures (django-axes): per user name + address.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
BROWSER_LANGUAGE = envbool("BROWSER_LANGUAGE", False)
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production: `kefu serve` runs collectstatic into STATIC_ROOT (hashed names + gzip) and
# whitenoise serves it with far-future caching; nginx needs no static location.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "kefu.core.staticstorage.StaticStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded attachments live outside the web root and are served only by a permission-checked view.
MEDIA_ROOT = DATA_DIR / "private"
# No URL serves MEDIA_ROOT: attachments go through a permission-checked view. The value is a
# path nothing routes to (None would break Django's test server, "" would serve the folder).
MEDIA_URL = "/private-media-not-served/"
ATTACHMENT_MAX_BYTES = envint("ATTACHMENT_MAX_MB", 10) * 1024 * 1024

# A resolved or closed ticket can be reopened for this many days; later a new linked ticket.
TICKET_REOPEN_DAYS = envint("TICKET_REOPEN_DAYS", 7)
# 热线接听流程: a call the hotline engineer cannot take now is passed to one within this many
# (natural) minutes (B6); the SLA monitor tells supervisors when a hand-off is late.
TICKET_HANDOFF_MINUTES = envint("TICKET_HANDOFF_MINUTES", 15)

# Working hours for SLA arithmetic (local time, Asia/Shanghai): comma-separated periods.
WORKING_HOURS = env("WORKING_HOURS", "09:00-12:00,13:30-18:00")

# Background jobs: Huey on SQLite by default, Redis when KEFU_REDIS_URL is set.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "kefu", "url": REDIS_URL, "immediate": False}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "kefu",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": MODE == "test" or envbool("HUEY_IMMEDIATE", False),
    }
# With Redis, it is also the cache every process shares, and sessions are read from it (written
# through to the database, so a Redis restart logs nobody out): one query less on every page.
# Without it, sessions stay in the database: a per-process cache would let a session that was
# logged out in one gunicorn worker live on in another.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "kefu"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# `kefu worker`: threads per consumer, and whether this consumer takes part in scheduling the
# periodic tasks (the SLA monitor). Several consumers may all keep it on: each minute is claimed
# in the queue by one of them (kefu/core/management/commands/worker.py).
HUEY["consumer"] = {
    "workers": envint("WORKER_THREADS", 2),
    "worker_type": "thread",
    "periodic": envbool("WORKER_PERIODIC", True),
}


def _default_web_workers():
    """gunicorn's 2 × cores + 1, at least 2 and at most 8 (each is a process holding ~80 MB and
    one database connection); set KEFU_WORKERS to go beyond."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(2, min(2 * cores + 1, 8))


# `kefu serve` (gunicorn, see kefu/gunicorn_conf.py).
WEB_BIND = envlist("BIND", ["127.0.0.1:8000"])
WEB_WORKERS = envint("WORKERS", _default_web_workers())
# A synchronous Excel import of 10,000 customers takes about a minute: keep room for it.
WEB_TIMEOUT = envint("WEB_TIMEOUT", 120)
# The proxies (IPs or networks, "*" for any) whose X-Forwarded-* headers are believed: by
# gunicorn for the scheme, by kefu.gunicorn_conf for the client address (REMOTE_ADDR).
WEB_FORWARDED_ALLOW_IPS = env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
if WEB_WORKERS < 1 or WEB_TIMEOUT < 1 or HUEY["consumer"]["workers"] < 1:
    raise ConfigError("KEFU_WORKERS, KEFU_WEB_TIMEOUT and KEFU_WORKER_THREADS must be at least 1")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_HOURS", 12) * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    # Production is served over HTTPS (nginx terminates TLS and passes X-Forwarded-Proto).
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", True)
    # The header the TLS-terminating proxy in front sets to "https" (overwriting any value the
    # client sent); "off" when there is no such proxy.
    _proxy_header = env("PROXY_SSL_HEADER", "X-Forwarded-Proto").strip()
    if _proxy_header.lower() not in {"", "off", "none"}:
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")

NINJA_PAGINATION_PER_PAGE = 50

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}
