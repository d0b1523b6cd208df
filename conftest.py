"""Fixtures shared by every app's tests."""

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from broadcastops.accounts.roles import Role

REQUIRE_SERVICES = os.environ.get("BROADCASTOPS_REQUIRE_SERVICES") == "1"


def require_service(what: str, available: bool, how: str) -> None:
    """Skip when a server the test needs is missing, except in CI where that is a failure."""
    if available:
        return
    message = f"{what} is not available ({how})"
    if REQUIRE_SERVICES:
        pytest.fail(message + "; CI must provide it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The second process of ``make test`` (``BROADCASTOPS_TEST_SHARD=1``) makes its
    PostgreSQL test database under its own name (broadcastops/testing.py).

    SQLite's test database is a file of this process, in WAL mode like the console's, not
    Django's default of memory with a shared cache: there a thread's read that meets another
    thread's write fails at once with "database table is locked" (an MCP tool waiting for its
    approval while the Slack button decided it), where the console's database reads on."""
    from django.conf import settings
    from pytest_django.fixtures import _set_suffix_to_test_databases

    from broadcastops.testing import SHARD

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folder = Path(tempfile.mkdtemp(prefix="broadcastops-db-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
    if SHARD:
        _set_suffix_to_test_databases(suffix=f"shard{SHARD}")


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    # PBKDF2 with Django's iterations costs ~0.7 s a password here; every user a fixture
    # makes, every sign-in and every wrong password would pay it. Hashing itself is Django's.
    from django.test import override_settings

    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    fast.enable()
    yield
    fast.disable()


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttle counters, heartbeats and rate-limiter buckets must not leak between tests.
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _no_language_left_active():
    # A request activates its reader's language in the thread and nothing deactivates it: a
    # Korean request must not turn the next test's sentences Korean.
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL", "")
    available = False
    if url:
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            available = True
        except redis.RedisError:
            available = False
    require_service("Redis", available, "set TEST_REDIS_URL to a running server")
    return url


@pytest.fixture
def chromium_path():
    path = "/usr/bin/chromium"
    require_service("Chromium", os.path.exists(path) and bool(shutil.which("chromium")), path)
    return path


def _user_with_role(django_user_model, username, role):
    from broadcastops.accounts.services import user_set_role

    user = django_user_model.objects.create_user(username=username, password="pw-" + username)
    if role is not None:
        user_set_role(user=user, role=role)
    return user


@pytest.fixture
def viewer(db, django_user_model):
    return _user_with_role(django_user_model, "viewer", Role.VIEWER)


@pytest.fixture
def operator(db, django_user_model):
    return _user_with_role(django_user_model, "operator", Role.OPERATOR)


@pytest.fixture
def admin_user(db, django_user_model):
    return _user_with_role(django_user_model, "admin-user", Role.ADMIN)


@pytest.fixture
def nobody(db, django_user_model):
    """Signed in, but holding no role."""
    return _user_with_role(django_user_model, "nobody", None)


@pytest.fixture
def api_client():
    return APIClient()


def _client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def viewer_client(viewer):
    return _client_for(viewer)


@pytest.fixture
def operator_client(operator):
    return _client_for(operator)


@pytest.fixture
def admin_client_api(admin_user):
    return _client_for(admin_user)


class SimHandle:
    """A running cloud simulator, as tests use it."""

    def __init__(self, server):
        self.server = server
        self.sim = server.sim
        self.url = server.url
        self.endpoint = server.endpoint

    def control(self, verb: str, body: dict | None = None) -> dict:
        import requests

        response = requests.post(f"{self.url}/_sim/{verb}", json=body or {}, timeout=5)
        response.raise_for_status()
        return response.json()

    def requests(self, service: str | None = None, action: str | None = None) -> list[dict]:
        with self.sim.lock:
            return [
                e
                for e in self.sim.requests
                if service in (None, e["service"]) and action in (None, e["action"])
            ]

    def load(self, scenario: dict) -> None:
        self.sim.reset(scenario)


def _gateway_caches_clear():
    from importlib import import_module

    for module, factory in (("tencent", "tencent_gateway"), ("ivs", "ivs_gateway")):
        with contextlib.suppress(ImportError, AttributeError):
            getattr(import_module(f"broadcastops.cloud.{module}"), factory).cache_clear()


@pytest.fixture
def cloudsim(settings):
    """A simulator on a free loopback port, empty (``.load(scenario)`` fills it), with the
    gateways' settings pointed at it. Transitional states are short so tests stay fast."""
    from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY, serve_in_thread

    server = serve_in_thread({}, start_delay_s=0.2, stop_delay_s=0.1)
    settings.TENCENTCLOUD_ENDPOINT = server.url
    settings.TENCENTCLOUD_SECRET_ID = SIM_SECRET_ID
    settings.TENCENTCLOUD_SECRET_KEY = SIM_SECRET_KEY
    settings.AWS_ENDPOINT_URL_IVS_REALTIME = server.url
    _gateway_caches_clear()
    yield SimHandle(server)
    server.shutdown()
    server.server_close()
    _gateway_caches_clear()


class FakeSlack:
    """A Slack incoming-webhook stand-in on loopback: records bodies, answers as told."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[dict] = []
        self.replies: list[tuple[int, str]] = []  # consumed first; then 200 "ok"
        self.delay_s = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                import time

                length = int(self.headers.get("Content-Length") or 0)
                fake.received.append(json.loads(self.rfile.read(length)))
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                status, body = fake.replies.pop(0) if fake.replies else (200, "ok")
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack(settings):
    """A fake Slack webhook; ``settings.SLACK_WEBHOOK_URL`` points at it."""
    fake = FakeSlack()
    settings.SLACK_WEBHOOK_URL = fake.url
    yield fake
    fake.close()
