"""The stream worker's frame sender: a producer's publish never waits for Redis, the frames
waiting during a round trip share the next one, and a Redis that is slow, away or drops the
connection costs bounded memory, a bounded wait at close and no thread left behind."""

import contextlib
import logging
import socket
import threading
import time
import uuid

import pytest
import redis

from streaming import redisbus
from streaming.frames import Frame
from streaming.redisbus import RedisPublisherSink


def _frame(camera_id: str, width: int, seq: int) -> Frame:
    return Frame(camera_id, width, seq, time.time(), seq / 30, str(uuid.uuid4()), b"jpeg-%d" % seq)


@contextlib.contextmanager
def _silent_server():
    """A Redis that accepts connections and never answers (hung, or its host gone quiet)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = listener.accept()
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def _senders() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "redis-sender")


def test_publish_never_waits_for_a_redis_that_does_not_answer():
    """Each publish returns at once while the sender waits for a reply that never comes; at
    most one frame per rendition waits meanwhile; close ends the sender within the timeout,
    and every frame is accounted for as dropped."""
    before = _senders()
    with _silent_server() as url:
        sink = RedisPublisherSink(url, "test-silent", timeout_s=0.5)
        slowest = 0.0
        published = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            for width in (0, 320, 640, 1280):
                started = time.monotonic()
                sink.publish(_frame("cam-a", width, published))
                slowest = max(slowest, time.monotonic() - started)
                published += 1
                assert len(sink._waiting) <= 4
            time.sleep(1 / 60)
        started = time.monotonic()
        sink.close()
        closed_in = time.monotonic() - started

    assert slowest < 0.05, f"a publish waited {slowest * 1000:.0f} ms"
    assert closed_in < 0.5 + 1.0
    assert not sink._sender.is_alive() and _senders() == before
    assert sink.frames_sent == 0 and sink.sends == 0 and sink.sends_failed >= 1
    assert sink.frames_dropped == published
    sink.publish(_frame("cam-a", 0, published))  # after close: dropped, no thread started
    assert sink.frames_dropped == published + 1 and _senders() == before


def test_a_redis_that_refuses_connections_is_tried_twice_a_second_not_once_a_frame(caplog):
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    sink = RedisPublisherSink(url, "test-refused", timeout_s=0.5)
    published = 0
    with caplog.at_level(logging.WARNING, logger="streaming.redisbus"):
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            sink.publish(_frame("cam-r", 0, published))
            published += 1
            time.sleep(1 / 100)
        sink.close()

    assert published > 100
    # One try, then one every _RETRY_AFTER_S (0.5 s): 4 in 1.5 s, where a try per frame
    # made over a hundred.
    assert 1 <= sink.sends_failed <= 5
    assert sink.frames_sent == 0 and sink.frames_dropped == published
    failures = [r for r in caplog.records if "Redis publish failed" in r.getMessage()]
    assert len(failures) == 1  # throttled: one line per 10 s


@pytest.fixture
def live(redis_url):
    """A real Redis, a sink on it and a subscriber to the sink's channels (pub/sub ignores
    the database number: the prefix is the test's own)."""
    prefix = f"test-sender-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.psubscribe(f"{prefix}:frames:*")
    assert pubsub.get_message(timeout=2)["type"] == "psubscribe"
    sink = RedisPublisherSink(redis_url, prefix)
    yield sink, client, pubsub
    sink.close()
    pubsub.close()
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def _counts(sink, expected: tuple[int, ...], timeout: float = 5.0) -> tuple[int, ...]:
    """The sender's (sends, frames sent, frames dropped) once they reach ``expected``: the
    sender counts a round trip after its reply, and a subscriber may have the frames first."""
    deadline = time.monotonic() + timeout
    while True:
        counts = (sink.sends, sink.frames_sent, sink.frames_dropped)
        if counts == expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.01)


def _received(pubsub, count: int, timeout: float = 5.0) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message and message["type"] == "pmessage":
            got.append((message["channel"].decode().split(":", 2)[2], message["data"]))
    return got


def _first_send_held(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """The sender's first round trip waits for ``gate``; ``in_flight`` says it is waiting."""
    gate = threading.Event()
    in_flight = threading.Event()
    real_execute = redis.client.Pipeline.execute

    def held(pipe, *args, **kwargs):
        if not in_flight.is_set():
            in_flight.set()
            assert gate.wait(5)
        return real_execute(pipe, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", held)
    return gate, in_flight


@pytest.mark.redis
def test_frames_that_arrive_during_a_round_trip_share_the_next_one(live, monkeypatch):
    """The sender is held in its first round trip; the frames published meanwhile go in one
    pipeline after it, a rendition's older frame replaced by its newer one (dropped)."""
    sink, client, pubsub = live
    gate, in_flight = _first_send_held(monkeypatch)
    sink.publish(_frame("cam-1", 320, 1))
    assert in_flight.wait(5)
    sink.publish(_frame("cam-1", 320, 2))
    sink.publish(_frame("cam-1", 320, 3))  # replaces 2, which is never sent
    sink.publish(_frame("cam-1", 640, 3))
    sink.publish(_frame("cam-2", 320, 7))
    gate.set()

    got = _received(pubsub, 4)
    assert sorted(got) == [
        ("cam-1:320", b"jpeg-1"),
        ("cam-1:320", b"jpeg-3"),
        ("cam-1:640", b"jpeg-3"),
        ("cam-2:320", b"jpeg-7"),
    ]
    assert got[0] == ("cam-1:320", b"jpeg-1")  # the held round trip first
    assert _counts(sink, (2, 4, 1)) == (2, 4, 1)
    assert client.get(f"{sink.prefix}:latest:cam-1:320") == b"jpeg-3"
    assert 0 < client.pttl(f"{sink.prefix}:latest:cam-1:320") <= redisbus.DEMAND_TTL_S * 1000


@pytest.mark.redis
def test_a_frame_that_waited_too_long_is_dropped_not_sent_late(live, monkeypatch):
    sink, _client, pubsub = live
    monkeypatch.setattr(redisbus, "_SEND_WITHIN_S", 0.2)
    gate, in_flight = _first_send_held(monkeypatch)
    sink.publish(_frame("cam-1", 0, 1))
    assert in_flight.wait(5)
    sink.publish(_frame("cam-1", 0, 2))  # waits 0.4 s behind the held round trip
    time.sleep(0.4)
    gate.set()
    assert _received(pubsub, 1) == [("cam-1:0", b"jpeg-1")]
    assert _received(pubsub, 1, timeout=0.5) == []
    sink.publish(_frame("cam-1", 0, 3))
    assert _received(pubsub, 1) == [("cam-1:0", b"jpeg-3")]
    assert _counts(sink, (2, 2, 1)) == (2, 2, 1)


@pytest.mark.redis
def test_frames_flow_again_after_redis_drops_the_senders_connection(live):
    """What a Redis restart (or a proxy's idle cut) does to the sender's connection: the
    next round trip fails or reconnects, and frames published after it arrive."""
    sink, client, pubsub = live
    sink.publish(_frame("cam-k", 0, 1))
    assert _received(pubsub, 1) == [("cam-k:0", b"jpeg-1")]
    assert _counts(sink, (1, 1, 0)) == (1, 1, 0)  # its connection back in the pool
    # Only the sender's connection: the server is shared with other test runs.
    (conn,) = sink.redis.connection_pool._available_connections
    host, port = conn._sock.getsockname()[:2]
    assert client.client_kill_filter(_id=None, addr=f"{host}:{port}") == 1

    seq = 2
    got: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        sink.publish(_frame("cam-k", 0, seq))
        got = _received(pubsub, 1, timeout=0.1)
        seq += 1
    assert got, "no frame reached Redis after its connection was dropped"
    deadline = time.monotonic() + 5
    while sink.frames_sent + sink.frames_dropped < seq - 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink.frames_sent + sink.frames_dropped == seq - 1  # each frame sent or dropped


def test_pruning_the_demand_of_many_cameras_costs_a_hung_redis_one_timeout():
    """The worker prunes every camera's demand each pass; against a Redis that never answers
    that was one timeout a camera (12 cameras: 24 s, past the 10 s lease), now one a pass."""
    with _silent_server() as url:
        sink = RedisPublisherSink(url, "test-prune-hung", timeout_s=0.3)
        sink._demand = {f"cam-{i}": (0.0, {}) for i in range(6)}
        started = time.monotonic()
        sink.prune()
        took = time.monotonic() - started
        sink.close()
    assert took < 0.3 * 2, f"prune took {took:.2f} s"


@pytest.mark.redis
def test_pruning_forgets_only_the_demand_nobody_refreshed(live):
    sink, client, _pubsub = live
    now = time.time()
    for camera in ("cam-1", "cam-2"):
        client.zadd(redisbus.demand_key(sink.prefix, camera), {"320@15": now - 1, "640": now + 5})
        sink.demand(camera)
    sink.prune()
    for camera in ("cam-1", "cam-2"):
        assert client.zrange(redisbus.demand_key(sink.prefix, camera), 0, -1) == [b"640"]
