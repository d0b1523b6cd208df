"""The two modes differ only by environment: check each in a fresh process."""

import os
import subprocess
import sys

import pytest

from broadcastops.tests.helpers import ROOT, run_django

DESCRIBE = """
from django.conf import settings
from django.db import connection
with connection.cursor() as c:
    journal = None
    if connection.vendor == "sqlite":
        c.execute("PRAGMA journal_mode")
        journal = c.fetchone()[0]
print(json.dumps({
    "vendor": connection.vendor,
    "journal": journal,
    "broker": settings.CELERY_BROKER_URL.split(":")[0],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "tz": settings.TIME_ZONE,
    "demo": settings.CLOUD_DEMO,
    "endpoint": settings.TENCENTCLOUD_ENDPOINT,
}))
"""


def test_embedded_mode_needs_no_server():
    mode = run_django(DESCRIBE, {})
    assert mode["vendor"] == "sqlite" and mode["journal"] == "wal"
    assert mode["broker"] == "filesystem"
    assert mode["layer"] == "channels.layers.InMemoryChannelLayer"
    assert mode["cache"].endswith("FileBasedCache")
    assert mode["tz"] == "Asia/Seoul"
    assert mode["demo"] is True and mode["endpoint"].startswith("http://127.0.0.1:")


def test_redis_url_switches_broker_layer_and_cache_to_redis():
    mode = run_django(DESCRIBE, {"REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert mode["broker"] == "redis"
    assert mode["layer"] == "channels_redis.core.RedisChannelLayer"
    # The default pool refuses a burst of joins: far above 100.
    assert mode["layer_hosts"][0]["max_connections"] >= 500
    assert mode["cache"].endswith("RedisCache")


def test_database_url_selects_postgresql():
    code = (
        "from django.conf import settings\n"
        "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE']}))"
    )
    mode = run_django(code, {"DATABASE_URL": "postgres://u:p@127.0.0.1:5432/broadcastops"})
    assert mode["engine"] == "django.db.backends.postgresql"


def test_credentials_turn_the_demo_mode_off():
    mode = run_django(
        DESCRIBE,
        {
            "TENCENTCLOUD_SECRET_ID": "AKIDreal",
            "TENCENTCLOUD_SECRET_KEY": "k",
            "TENCENTCLOUD_ENDPOINT": "",
        },
    )
    assert mode["demo"] is False and mode["endpoint"] == ""


@pytest.mark.parametrize(
    "env",
    [
        {"DEBUG": "False"},
        {
            "DEBUG": "False",
            "SECRET_KEY": "django-insecure-broadcastops-development-key-do-not-use-in-production",
        },
    ],
    ids=["missing", "development-key"],
)
def test_production_refuses_to_start_without_a_real_secret_key(env):
    result = run_django("print(json.dumps({}))", env)
    assert result.get("returncode", 0) != 0
    assert "SECRET_KEY" in result["stderr"]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DEBUG="False",
        SECRET_KEY="x7Tq9-vL2mN8pR4sK6wY1zA3bC5dE0fG-hJ7kL9mN2pQ4rS6tU8vW0xY",
        ALLOWED_HOSTS="console.example.test",
        BROADCASTOPS_DATA_DIR=str(tmp_path),
    )
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout
