"""Client-side rate limiting per cloud action, so a full poll never earns a throttle.

A GCRA limiter: each call reserves the next free slot of its action and sleeps until it.
With ``REDIS_URL`` the slots live in Redis (one Lua script, Redis's own clock) and are shared
by every worker and web process; otherwise they live in this process.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from broadcastops.cloud.errors import CloudRateLimited

logger = logging.getLogger(__name__)

# Reserve the slot of one call; returns the seconds to wait, or -1 when over max_wait.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - tau
if wait < 0 then wait = 0 end
if wait > max_wait then return '-1' end
local ttl_ms = math.ceil((tat + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', ttl_ms)
return tostring(wait)
"""


@dataclass(frozen=True)
class Limit:
    """``rate_per_s`` calls a second, with bursts of ``burst`` calls."""

    rate_per_s: float
    burst: int = 1


class RateLimiter:
    """Reserve call slots per key; thread-safe; shared through Redis when configured."""

    def __init__(self, redis_url: str = "", prefix: str = "broadcastops:rl:"):
        self._prefix = prefix
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._redis = None
        self._script = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(
                redis_url,
                socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
                socket_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
            )
            self._script = self._redis.register_script(_GCRA_LUA)

    def _reserve_local(self, key: str, interval: float, tau: float, max_wait: float) -> float:
        with self._lock:
            now = time.monotonic()
            tat = max(self._tat.get(key, now), now)
            wait = max(0.0, tat - now - tau)
            if wait > max_wait:
                return -1.0
            self._tat[key] = tat + interval
            return wait

    def _reserve(self, key: str, interval: float, tau: float, max_wait: float) -> float:
        if self._script is not None:
            import redis

            try:
                return float(
                    self._script(keys=[self._prefix + key], args=[interval, tau, max_wait])
                )
            except redis.RedisError as exc:
                # A Redis hiccup must not stop the console; this process still limits itself.
                logger.warning("Rate limiter falling back to local slots for %s: %s", key, exc)
        return self._reserve_local(key, interval, tau, max_wait)

    def acquire(self, key: str, limit: Limit, *, max_wait_s: float = 30.0) -> float:
        """Wait for a slot of ``key``; return the seconds waited.

        Raises ``CloudRateLimited`` when the next slot is further away than ``max_wait_s``.
        """
        interval = 1.0 / limit.rate_per_s
        tau = (max(limit.burst, 1) - 1) * interval
        wait = self._reserve(key, interval, tau, max_wait_s)
        if wait < 0:
            raise CloudRateLimited(
                f"client-side rate limit: no slot for {key} within {max_wait_s:.0f} s",
                vendor="local",
                code="ClientRateLimited",
                action=key,
            )
        if wait > 0:
            time.sleep(wait)
        return wait
