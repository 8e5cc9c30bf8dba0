"""Sessions: in the database without Redis; read from Redis (written through to the database)
with KEFU_REDIS_URL, so a page costs one query less and a logout still ends the session in
every process."""

import pytest
import redis
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from kefu.core.tests.test_production import production_env, run_kefu, shown

REDIS_URL = "redis://127.0.0.1:6379/14"
REDIS_SETTINGS = {
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                           "LOCATION": REDIS_URL, "KEY_PREFIX": "kefu-test"}},
    "SESSION_ENGINE": "django.contrib.sessions.backends.cached_db",
}


def test_the_redis_url_switches_cache_and_sessions_to_redis(tmp_path):
    show = ("from django.conf import settings; "
            "print(settings.SESSION_ENGINE, settings.CACHES['default']['BACKEND'])")
    without = run_kefu(["shell", "-c", show], production_env(tmp_path))
    assert without.returncode == 0, shown(without)
    assert without.stdout.splitlines()[-1].split() == ["django.contrib.sessions.backends.db",
                                      "django.core.cache.backends.locmem.LocMemCache"]
    with_redis = run_kefu(["shell", "-c", show], production_env(tmp_path, KEFU_REDIS_URL=REDIS_URL))
    assert with_redis.returncode == 0, shown(with_redis)
    assert with_redis.stdout.splitlines()[-1].split() == ["django.contrib.sessions.backends.cached_db",
                                         "django.core.cache.backends.redis.RedisCache"]


@pytest.fixture
def redis_sessions():
    redis.Redis.from_url(REDIS_URL).flushdb()
    with override_settings(**REDIS_SETTINGS):
        caches.close_all()
        yield redis.Redis.from_url(REDIS_URL)
    caches.close_all()
    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.mark.django_db
def test_a_page_reads_its_session_from_redis_and_a_logout_ends_it_everywhere(agent, redis_sessions):
    browser = Client()
    browser.force_login(agent)
    key = browser.cookies["sessionid"].value
    assert Session.objects.filter(session_key=key).exists()  # written through to the database
    assert any(key.encode() in k for k in redis_sessions.keys("*"))

    browser.get("/tickets/")
    with CaptureQueriesContext(connection) as ctx:
        assert browser.get("/tickets/").status_code == 200
    assert not any("django_session" in q["sql"] for q in ctx.captured_queries)

    other = Client()  # the same cookie, as another gunicorn worker would see it
    other.cookies["sessionid"] = key
    assert other.get("/tickets/").status_code == 200
    assert browser.post("/accounts/logout/").status_code in (200, 302)
    assert not Session.objects.filter(session_key=key).exists()
    assert not any(key.encode() in k for k in redis_sessions.keys("*"))
    assert other.get("/tickets/").status_code == 302  # back to the login page
