import time

import pytest
from django.core.cache import cache

from broadcastops.health import HEARTBEAT_KEY
from broadcastops.tasks import heartbeat_task
from broadcastops.tests.helpers import run_django

pytestmark = pytest.mark.django_db


def test_healthy_when_every_part_answers_and_the_worker_beats(client, settings):
    heartbeat_task()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert {"database", "broker", "channel_layer", "heartbeat"} <= set(body["checks"])
    assert body["mode"] == ("scaled" if settings.REDIS_URL else "embedded")


def test_missing_heartbeat_is_a_503_naming_the_worker(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["heartbeat"]
    assert "worker" in body["checks"]["heartbeat"]["error"]


def test_stale_heartbeat_is_a_503(client, settings):
    cache.set(HEARTBEAT_KEY, time.time() - settings.HEARTBEAT_MAX_AGE_S - 5, timeout=None)
    body = client.get("/healthz").json()
    assert body["failing"] == ["heartbeat"] and "ago" in body["checks"]["heartbeat"]["error"]


def test_missing_redis_in_scaled_mode_fails_health_while_the_admin_answers():
    code = """
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
c = Client(HTTP_HOST="127.0.0.1")
health = c.get("/healthz")
login = c.get("/admin/login/")
print(json.dumps({"health": health.status_code, "body": health.json(),
                  "login": login.status_code}))
"""
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    result = run_django(
        code, {"REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_SOCKET_TIMEOUT_S": "1"}, timeout=90
    )
    assert result.get("returncode") is None, result.get("stderr")
    assert result["health"] == 503
    assert result["body"]["mode"] == "scaled"
    assert {"broker", "channel_layer", "heartbeat"} <= set(result["body"]["failing"])
    assert "database" not in result["body"]["failing"]
    assert result["login"] == 200


@pytest.mark.redis
def test_scaled_mode_is_healthy_with_a_real_redis(redis_url):
    code = """
from django.core.management import call_command
from django.test import Client
from broadcastops.tasks import heartbeat_task
call_command("migrate", verbosity=0)
heartbeat_task()
health = Client(HTTP_HOST="127.0.0.1").get("/healthz")
print(json.dumps({"status": health.status_code, "body": health.json()}))
"""
    result = run_django(code, {"REDIS_URL": redis_url}, timeout=90)
    assert result.get("returncode") is None, result.get("stderr")
    assert result["status"] == 200, result["body"]
    assert result["body"]["checks"]["channel_layer"]["backend"] == "RedisChannelLayer"


def test_a_degraded_feature_is_named_but_keeps_the_process_in_rotation(client):
    from broadcastops import health, registry

    def lagging():
        raise health.HealthWarning("camera cam-1 lagging")

    # An app's check, registered the way streaming registers "live_frames".
    with registry.HEALTH_CHECKS.registered(lagging, key="cameras"):
        heartbeat_task()
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["degraded"] == ["cameras"]
    assert "cam-1" in body["checks"]["cameras"]["warning"]
    assert body["checks"]["live_frames"]["ok"]  # streaming's own, from its ready()


def test_a_channel_layer_receive_that_swallows_its_cancel_fails_the_check_in_time(
    client, monkeypatch
):
    """A receive that ignores the first cancel (Python 3.11's wait_for inside redis-py,
    broadcastops.aio) made the check wait for ever; it fails after its timeout instead."""
    import asyncio
    import contextlib

    from channels.layers import get_channel_layer

    from broadcastops import health

    heartbeat_task()
    layer = get_channel_layer()
    ended = []

    async def stuck(_channel):
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)  # the first cancel is lost here
        try:
            await asyncio.sleep(30)
        finally:
            ended.append(True)

    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.3)
    monkeypatch.setattr(layer, "receive", stuck)
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["failing"] == ["channel_layer"]
    assert "in time" in response.json()["checks"]["channel_layer"]["error"]
    assert ended == [True]  # cancelled again when the first was lost, not left running
