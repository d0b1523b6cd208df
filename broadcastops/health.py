"""Health of the parts the console needs: database, broker, channel layer, worker heartbeat."""

import asyncio
import logging
import time
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils.translation import gettext as _

from broadcastops import registry
from broadcastops.aio import task_cancel

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "broadcastops:heartbeat"


class HealthWarning(Exception):
    """Raised by a check for a fault that degrades one feature but not the whole process:
    named in the report (status "degraded"), still HTTP 200, so a load balancer keeps the
    process in rotation."""


CHECK_TIMEOUT_S = 3.0


def heartbeat_record() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def _check_broker() -> dict[str, Any]:
    from broadcastops.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=CHECK_TIMEOUT_S)
        return {"transport": conn.transport_cls if isinstance(conn.transport_cls, str) else "?"}


async def _layer_roundtrip() -> None:
    layer = get_channel_layer()
    # The default prefix: channels_redis reads every process-local channel of one prefix with
    # one blocking pop, by whichever receiver holds its lock; a channel of another prefix
    # waits behind the sockets' receives (up to the 5 s block) and the check timed out.
    channel = await layer.new_channel()
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "health.ping", "token": token})
    # Not wait_for: on Python 3.11 it waits for the receive it cancels at the timeout, and a
    # receive can swallow that cancel (broadcastops.aio): the check would never answer.
    receiving = asyncio.ensure_future(layer.receive(channel))
    done, _pending = await asyncio.wait({receiving}, timeout=CHECK_TIMEOUT_S)
    if not done:
        task_cancel(receiving)
        raise TimeoutError(_("the channel layer did not return the message in time"))
    message = receiving.result()
    if message.get("token") != token:
        raise RuntimeError(_("the channel layer returned another message"))


def _check_channel_layer() -> dict[str, Any]:
    async_to_sync(_layer_roundtrip)()
    backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    return {"backend": backend.rsplit(".", 1)[-1]}


def _check_heartbeat() -> dict[str, Any]:
    last = cache.get(HEARTBEAT_KEY)
    if last is None:
        raise RuntimeError(_("no heartbeat yet: is the Celery worker (and beat) running?"))
    age_s = time.time() - float(last)
    if age_s > settings.HEARTBEAT_MAX_AGE_S:
        raise RuntimeError(
            _("last heartbeat %(age)s s ago: the worker or beat has stopped")
            % {"age": f"{age_s:.0f}"}
        )
    return {"age_s": round(age_s, 1)}


# The project's own checks; apps add theirs to registry.HEALTH_CHECKS in their ready().
CHECKS = {
    "database": _check_database,
    "broker": _check_broker,
    "channel_layer": _check_channel_layer,
    "heartbeat": _check_heartbeat,
}


def health_report() -> dict[str, Any]:
    """Run every check; each failure is named with its reason, none raises."""
    checks = {}
    for name, check in [*CHECKS.items(), *registry.HEALTH_CHECKS.items()]:
        started = time.monotonic()
        try:
            result = {"ok": True, **check()}
        except HealthWarning as exc:
            result = {"ok": True, "warning": str(exc)}
        except Exception as exc:  # a health check reports every failure, whatever its type
            logger.warning("Health check %s failed: %s", name, exc)
            result = {"ok": False, "error": str(exc) or exc.__class__.__name__}
        result["ms"] = round((time.monotonic() - started) * 1000, 1)
        checks[name] = result
    failing = [name for name, result in checks.items() if not result["ok"]]
    degraded = [name for name, result in checks.items() if result.get("warning")]
    return {
        "status": "failing" if failing else "degraded" if degraded else "ok",
        "failing": failing,
        "degraded": degraded,
        "mode": "scaled" if settings.REDIS_URL else "embedded",
        "demo": settings.CLOUD_DEMO,
        "checks": checks,
    }
