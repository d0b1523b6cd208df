"""The client-side limiter itself: evenly spaced slots, shared by processes through Redis."""

import threading
import time

import pytest

from broadcastops.cloud.errors import CloudRateLimited
from broadcastops.cloud.ratelimit import Limit, RateLimiter


def _max_in_any_second(stamps: list[float]) -> int:
    stamps.sort()
    return max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)


def _burst(limiters: list[RateLimiter], key: str, calls_each: int, limit: Limit) -> list[float]:
    stamps: list[float] = []
    lock = threading.Lock()

    def run(limiter):
        for _ in range(calls_each):
            limiter.acquire(key, limit, max_wait_s=10)
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=run, args=(lim,)) for lim in limiters for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    return stamps


def test_local_slots_hold_the_rate_across_threads():
    stamps = _burst([RateLimiter()], "mdl:Describe", calls_each=8, limit=Limit(10))
    assert len(stamps) == 24
    assert _max_in_any_second(stamps) <= 11  # evenly spaced: 10 per second, +1 at the edge


def test_a_slot_too_far_away_is_refused_not_waited_for():
    limiter = RateLimiter()
    limit = Limit(1)
    limiter.acquire("k", limit)
    with pytest.raises(CloudRateLimited):
        limiter.acquire("k", limit, max_wait_s=0.1)


@pytest.mark.redis
def test_two_processes_share_the_slots_through_redis(redis_url):
    # Two limiters with their own local state stand in for two worker processes.
    first, second = (
        RateLimiter(redis_url, prefix="test:rl:"),
        RateLimiter(redis_url, prefix="test:rl:"),
    )
    import redis

    redis.Redis.from_url(redis_url).delete("test:rl:mdl:Shared")
    stamps = _burst([first, second], "mdl:Shared", calls_each=5, limit=Limit(10))
    assert len(stamps) == 30
    # Alone, each would allow 10/s; together they still stay at 10/s.
    assert _max_in_any_second(stamps) <= 11


def test_redis_outage_falls_back_to_local_slots(settings):
    settings.REDIS_SOCKET_TIMEOUT_S = 0.2
    limiter = RateLimiter("redis://127.0.0.1:1/0")
    started = time.monotonic()
    for _ in range(3):
        limiter.acquire("k", Limit(20))
    assert time.monotonic() - started < 3
