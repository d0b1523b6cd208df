"""Stream workers share the running sessions: each holds at most ceil(running / live workers),
counting the live workers in Redis (streaming.worker, RedisPublisherSink.worker_beat)."""

import threading
import time
from collections import Counter
from itertools import pairwise

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from streaming import services
from streaming.models import StreamSession
from streaming.worker import StreamWorker

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sharing(settings, redis_url):
    settings.STREAMING_REDIS_URL = redis_url
    settings.STREAMING_REDIS_PREFIX = "test-sharing"
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("test-sharing:*"):
        client.delete(key)
    workers: list[StreamWorker] = []

    def make(worker_id: str) -> StreamWorker:
        worker = StreamWorker(redis_url=redis_url, worker_id=worker_id)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.manager.shutdown()
        worker.sink.close()
    client.close()


@pytest.fixture
def sessions(make_clip):
    def start(count: int) -> list[str]:
        path = make_clip(frames=30, size=(160, 120))
        upload = services.upload_create(
            camera_id="cam-0", incoming_path=path, original_name=path.name, actor=None
        )
        return [
            str(services.stream_start(camera_id=f"cam-{n}", upload=upload).pk) for n in range(count)
        ]

    return start


def _owners() -> dict[str, str]:
    return {
        str(pk): worker_id
        for pk, worker_id in StreamSession.objects.filter(
            state=StreamSession.State.RUNNING
        ).values_list("pk", "worker_id")
    }


def _split() -> Counter[str]:
    return Counter(_owners().values())


def _producing(worker: StreamWorker) -> int:
    return sum(1 for _ in worker.manager.cameras())


@pytest.mark.parametrize(("count", "expected"), [(12, [6, 6]), (5, [2, 3])])
@pytest.mark.parametrize("first", [0, 1])
def test_two_workers_end_with_a_fair_split_whichever_ticks_first(
    sharing, sessions, count, expected, first
):
    sessions(count)
    workers = [sharing("a"), sharing("b")]
    workers = workers[first:] + workers[:first]
    workers[0].tick()  # alone so far: it takes every session
    assert _split() == {workers[0].worker_id: count}
    for _ in range(4):
        for worker in workers:
            worker.tick()
    split = _split()
    assert "" not in split
    assert sorted(split.values()) == expected
    for worker in workers:
        assert _producing(worker) == split[worker.worker_id]
    # Settled: more passes move nothing.
    owners = _owners()
    for _ in range(3):
        for worker in workers:
            worker.tick()
    assert _owners() == owners


def test_a_lone_worker_takes_every_session(sharing, sessions):
    sessions(5)
    worker = sharing("alone")
    assert len(worker.tick()) == 5
    assert _split() == {"alone": 5}


def _settle(workers: list[StreamWorker], rounds: int = 4) -> None:
    for _ in range(rounds):
        for worker in workers:
            worker.tick()


def test_a_worker_that_stops_hands_its_share_to_the_other(sharing, sessions):
    sessions(12)
    first, second = sharing("first"), sharing("second")
    _settle([first, second])
    assert _split() == {"first": 6, "second": 6}
    stop = threading.Event()
    stop.set()
    second.run(stop=stop)  # its end: leaves the registry and hands its sessions back
    first.tick()
    assert _split() == {"first": 12}
    assert _producing(first) == 12


def test_a_worker_that_died_stops_counting_once_its_registry_entry_expires(
    sharing, sessions, settings
):
    settings.STREAMING_WORKER_LEASE_S = 2.0
    sessions(12)
    first, second = sharing("first"), sharing("second")
    _settle([first, second])
    assert _split() == {"first": 6, "second": 6}
    second.manager.shutdown()  # dies: hands nothing back, its registry entry stays
    first.tick()
    assert _split() == {"first": 6, "second": 6}  # still counted while its entry lasts
    time.sleep(2.3)
    first.tick()
    assert _split() == {"first": 12}


def test_a_third_worker_joining_takes_its_share_with_no_session_long_unheld(sharing, sessions):
    ids = sessions(12)
    a, b, c = sharing("a"), sharing("b"), sharing("c")
    _settle([a, b])
    assert _split() == {"a": 6, "b": 6}
    owners = [_owners()]
    unheld_rounds = Counter[str]()
    for _ in range(5):
        # The newcomer first, so that what the others hand back waits a round for it.
        for worker in (c, a, b):
            worker.tick()
        owners.append(_owners())
        unheld = {pk for pk, worker_id in owners[-1].items() if not worker_id}
        for pk in ids:
            unheld_rounds[pk] = unheld_rounds[pk] + 1 if pk in unheld else 0
            assert unheld_rounds[pk] <= 1, f"session {pk} unheld for two rounds"
    assert _split() == {"a": 4, "b": 4, "c": 4}
    assert [_producing(w) for w in (a, b, c)] == [4, 4, 4]
    # Each session moved at most once: a session handed back went to the newcomer.
    for pk in ids:
        held_by = [o[pk] for o in owners if o[pk]]
        moves = sum(1 for x, y in pairwise(held_by) if x != y)
        assert moves <= 1 and (moves == 0 or held_by[-1] == "c")


def test_a_worker_whose_redis_does_not_answer_keeps_its_sessions_and_producers(
    sharing, sessions, caplog
):
    sessions(12)
    a, b = sharing("a"), sharing("b")
    _settle([a, b])
    # Refused at once, not retried: redis-py's default retries take 5 s a call (noted).
    a.sink.redis = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    assert len(a.tick()) == 6  # no count of the workers: it keeps what it holds
    assert _split() == {"a": 6, "b": 6}
    assert _producing(a) == 6
    assert "Redis worker registry write failed worker=a" in caplog.text
