"""The two modes differ only by environment: check each in a fresh process."""

import os
import subprocess
import sys

from broadcastops.tests.helpers import ROOT, run_django, run_manage

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


def test_debug_is_off_and_a_secret_key_is_made_once_in_the_data_folder(tmp_path):
    code = (
        "import hashlib, os, stat\n"
        "from django.conf import settings\n"
        "path = settings.DATA_DIR / 'secret_key'\n"
        "print(json.dumps({'debug': settings.DEBUG, 'https': settings.HTTPS,\n"
        "  'session_cookie_secure': settings.SESSION_COOKIE_SECURE,\n"
        "  'ssl_redirect': settings.SECURE_SSL_REDIRECT,\n"
        "  'mode': oct(stat.S_IMODE(path.stat().st_mode)),\n"
        "  'key': hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest(),\n"
        "  'file': hashlib.sha256(path.read_text().strip().encode()).hexdigest()}))\n"
    )
    env = {"BROADCASTOPS_DATA_DIR": str(tmp_path)}
    first = run_django(code, env)
    assert first["debug"] is False
    assert first["mode"] == "0o600" and first["key"] == first["file"]
    # Plain HTTP on loopback: no redirect to HTTPS, cookies that http://127.0.0.1 keeps.
    assert first["https"] is False
    assert first["session_cookie_secure"] is False and first["ssl_redirect"] is False
    assert run_django(code, env)["key"] == first["key"], "the key survives a restart"


def test_processes_starting_together_agree_on_one_key(tmp_path):
    script = (
        "import hashlib, pathlib, sys\n"
        "from broadcastops.secret_key import secret_key_from_data_dir\n"
        "key = secret_key_from_data_dir(pathlib.Path(sys.argv[1]))\n"
        "print(hashlib.sha256(key.encode()).hexdigest())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    assert len({out.strip() for out, _ in outputs}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


def test_a_development_secret_key_is_refused():
    env = {"SECRET_KEY": "django-insecure-broadcastops-development-key-do-not-use-in-production"}
    result = run_django("print(json.dumps({}))", env)
    assert result.get("returncode", 0) != 0
    assert "SECRET_KEY" in result["stderr"]
    assert env["SECRET_KEY"] not in result["stderr"]


def _check_deploy(env_overrides: dict, data_dir) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY"}
    }
    env.update(BROADCASTOPS_DATA_DIR=str(data_dir), **env_overrides)
    return run_manage("check", "--deploy", "--fail-level", "WARNING", env=env, timeout=60)


def test_check_deploy_is_clean_for_the_console_make_run_starts(tmp_path):
    proc = _check_deploy({}, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


def test_check_deploy_warns_of_plain_http_on_a_public_host(tmp_path):
    proc = _check_deploy({"ALLOWED_HOSTS": "console.example.test", "HTTPS": "0"}, tmp_path)
    assert proc.returncode != 0
    assert "broadcastops.W001" in proc.stdout + proc.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    # A public host turns HTTPS on (else broadcastops.W001 would warn here).
    proc = _check_deploy(
        {
            "SECRET_KEY": "x7Tq9-vL2mN8pR4sK6wY1zA3bC5dE0fG-hJ7kL9mN2pQ4rS6tU8vW0xY",
            "ALLOWED_HOSTS": "console.example.test",
        },
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout
