"""Scaled mode with a real Redis: a stream worker publishes, the web side subscribes once."""

import asyncio
import json
import threading
import time

import pytest
import redis
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import CommandError, call_command
from django.test import Client

from broadcastops.asgi import application
from broadcastops.health import health_report
from streaming import services
from streaming.frames import frame_unpack
from streaming.hub import hub_get
from streaming.models import StreamSession
from streaming.selectors import feed_health
from streaming.worker import StreamWorker

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scaled(settings, redis_url):
    settings.STREAMING_REDIS_URL = redis_url
    settings.STREAMING_REDIS_PREFIX = "test-streaming"
    settings.STREAMING_WORKER_POLL_S = 0.1
    settings.STREAMING_FEED_LAG_S = 1.0
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("test-streaming:*"):
        client.delete(key)
    yield client
    client.close()


@pytest.fixture
def worker(scaled, redis_url):
    worker = StreamWorker(redis_url=redis_url, worker_id="test-worker")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"stop": stop, "max_seconds": 60})
    thread.start()
    yield worker
    stop.set()
    thread.join(10)


def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _viewer(user, camera_id="cam-r"):
    cookie = await database_sync_to_async(_cookie)(user)
    comm = WebsocketCommunicator(
        application,
        f"/ws/live-monitoring/{camera_id}/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)],
    )
    assert (await comm.connect())[0]
    return comm


async def _frame(comm, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await comm.receive_output(max(0.01, deadline - loop.time()))
        if message.get("bytes") is not None:
            return frame_unpack(message["bytes"], camera_id="cam-r", width=0)


async def _start(make_clip):
    def start():
        path = make_clip(frames=300, fps=30.0)
        upload = services.upload_create(
            camera_id="cam-r", incoming_path=path, original_name=path.name, actor=None
        )
        return services.stream_start(camera_id="cam-r", upload=upload)

    return await database_sync_to_async(start)()


async def test_worker_frames_reach_viewers_through_one_subscription(
    scaled, worker, viewer, make_clip
):
    session = await _start(make_clip)
    viewers = [await _viewer(viewer) for _ in range(3)]

    for comm in viewers:
        frame = await _frame(comm)
        assert frame.session_id == str(session.pk)
        await comm.send_to(text_data="ack")
        assert (await _frame(comm)).seq > frame.seq

    # One subscriber connection for the camera in this process, whatever the viewer count.
    clients = scaled.client_list(_type="pubsub")
    assert len(clients) == 1
    await database_sync_to_async(session.refresh_from_db)()
    assert session.worker_id == "test-worker"
    assert session.state == StreamSession.State.RUNNING
    for comm in viewers:
        await comm.disconnect()


async def test_a_dropped_subscription_reconnects_and_resumes(scaled, worker, viewer, make_clip):
    await _start(make_clip)
    comm = await _viewer(viewer)
    before = await _frame(comm)

    # What Redis does to a subscriber past its output-buffer limit.
    killed = scaled.client_kill_filter(_type="pubsub")
    assert killed >= 1

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 8
    while True:
        await comm.send_to(text_data="ack")
        frame = await _frame(comm)
        if frame.seq > before.seq + 10:
            break
        assert loop.time() < deadline, "frames did not resume after the disconnect"
    assert len(scaled.client_list(_type="pubsub")) == 1
    await comm.disconnect()


async def test_health_reports_a_camera_whose_feed_lags(scaled, viewer, make_clip):
    # A running session but no stream worker: no frame ever comes.
    await _start(make_clip)
    comm = await _viewer(viewer)
    lagging = False
    for _ in range(30):
        message = await comm.receive_output(1)
        if message.get("text") and json.loads(message["text"])["state"] == "lagging":
            lagging = True
            break
    assert lagging
    assert feed_health()["lagging"] == ["cam-r"]
    report = await database_sync_to_async(health_report)()
    assert report["degraded"] == ["live_frames"]  # named, without failing the process
    assert "cam-r" in report["checks"]["live_frames"]["warning"]
    assert hub_get().mode == "scaled"
    await comm.disconnect()


def test_stream_worker_command_claims_and_releases_the_session(scaled, make_clip):
    path = make_clip(frames=30)
    upload = services.upload_create(
        camera_id="cam-r", incoming_path=path, original_name=path.name, actor=None
    )
    session = services.stream_start(camera_id="cam-r", upload=upload)
    scaled.zadd("test-streaming:demand:cam-r", {"0": 4102444800})  # somebody watches
    pubsub = scaled.pubsub()
    pubsub.subscribe("test-streaming:frames:cam-r:0")

    call_command("stream_worker", "--max-seconds", "1.5", "--worker-id", "cmd-worker")

    frames = []
    while (message := pubsub.get_message(timeout=0.2)) is not None:
        if message["type"] == "message":
            frames.append(frame_unpack(message["data"], camera_id="cam-r", width=0))
    assert frames and frames[-1].session_id == str(session.pk)
    assert scaled.get("test-streaming:latest:cam-r:0") is not None
    session.refresh_from_db()
    assert session.worker_id == ""  # handed back on exit, not held until the lease ends
    # The worker's frame sender (redisbus.RedisPublisherSink) ended with it.
    assert [t.name for t in threading.enumerate() if t.name == "redis-sender"] == []
    pubsub.close()


def test_stream_worker_refuses_to_run_without_redis(settings, db):
    settings.STREAMING_REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("stream_worker", "--max-seconds", "0.1")


async def test_a_subscription_that_died_of_an_error_is_started_again(
    scaled, worker, viewer, make_clip, monkeypatch, caplog
):
    monkeypatch.setattr("streaming.hub._SPEC_REFRESH_S", 0.5)
    await _start(make_clip)
    comm = await _viewer(viewer)
    before = await _frame(comm)

    import streaming.redisbus as redisbus

    real_unpack = redisbus.frame_unpack
    calls = {"n": 0}

    def broken_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("a bug in the subscription")
        return real_unpack(*args, **kwargs)

    monkeypatch.setattr(redisbus, "frame_unpack", broken_once)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 8
    while True:
        await comm.send_to(text_data="ack 99")
        frame = await _frame(comm)
        if calls["n"] > 1 and frame.seq > before.seq + 10:
            break
        assert loop.time() < deadline, "frames did not come back after the subscription died"
    assert "Frame subscription failed camera=cam-r" in caplog.text
    await comm.disconnect()


def test_a_stream_worker_that_dies_raises_lost_feed_once_and_the_other_resolves_it(
    scaled, redis_url, make_clip, settings, monkeypatch
):
    """Beat's sweep judges the dead worker's cameras by the frame times it stopped writing
    to Redis: lost after ``lost_s``, not only once the lease runs out; the other worker
    taking the lease over and producing again resolves it. Nobody watches: alarms matter
    most then. The test runs the sweep in its polls (beat runs it every ``lost_s``)."""
    from streaming.tests.test_picture_alarms import _alarms, _notified, _until

    settings.STREAMING_ALARM_SAMPLE_FPS = 5.0
    settings.STREAMING_ALARM_LOST_S = 1.0
    settings.STREAMING_WORKER_LEASE_S = 4.0
    settings.NOTIFY_FLAP_THRESHOLD = 100
    # A crash hands nothing back: the lease stays until it runs out.
    monkeypatch.setattr("streaming.worker.stream_session_release", lambda **kwargs: None)
    path = make_clip(frames=300, fps=30.0)
    upload = services.upload_create(
        camera_id="cam-w", incoming_path=path, original_name=path.name, actor=None
    )
    session = services.stream_start(camera_id="cam-w", upload=upload)
    first = StreamWorker(redis_url=redis_url, worker_id="first")
    first.tick()  # takes the session before the other worker exists
    assert first.manager.get("cam-w") is not None
    stops = {name: threading.Event() for name in ("first", "second")}
    second = StreamWorker(redis_url=redis_url, worker_id="second")
    threads = [
        threading.Thread(target=w.run, kwargs={"stop": stops[n], "max_seconds": 30})
        for n, w in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    try:
        _until(lambda: "cam-w" in first.manager.frame_times, 3, "no frame decoded")
        for _ in range(3):  # frames flow: the sweep finds nothing lost
            time.sleep(0.5)
            assert services.stream_feeds_lost_sweep() == 0
        assert _alarms("cam-w") == []
        stops["first"].set()  # the first worker dies with its lease held
        threads[0].join(10)

        def swept(condition):
            def check():
                services.stream_feeds_lost_sweep()
                return condition()

            return check

        _until(swept(lambda: _alarms("cam-w")), 3, "no lost-feed alarm while the lease runs")
        opened = _alarms("cam-w")[0]
        assert opened.kind == "lost" and opened.resolved_at is None
        assert StreamSession.objects.get(pk=session.pk).worker_id == "first"
        _until(
            swept(lambda: _alarms("cam-w")[0].resolved_at is not None), 8, "lost feed not resolved"
        )
        assert StreamSession.objects.get(pk=session.pk).worker_id == "second"
        assert len(_alarms("cam-w")) == 1
        assert _notified("cam-w") == ["streaming.alarm.lost", "streaming.alarm.lost.resolved"]
    finally:
        for stop in stops.values():
            stop.set()
        for thread in threads:
            thread.join(10)
        for worker in (first, second):
            if worker.manager.alarms is not None:
                worker.manager.alarms.drain()


def test_the_beat_sweep_raises_lost_feed_when_no_worker_runs_and_resolves_it(
    scaled, make_clip, settings
):
    """The only worker died (or none runs): nobody else judges, so beat's sweep does, from
    the frame times in Redis; once each way, however often it runs."""
    from streaming.tests.test_picture_alarms import _alarms, _notified

    settings.STREAMING_ALARM_SAMPLE_FPS = 2.0
    settings.STREAMING_ALARM_LOST_S = 5.0
    settings.NOTIFY_FLAP_THRESHOLD = 100
    path = make_clip(frames=300, fps=30.0)
    upload = services.upload_create(
        camera_id="cam-s", incoming_path=path, original_name=path.name, actor=None
    )
    services.stream_start(camera_id="cam-s", upload=upload)
    started = time.time()
    assert services.stream_feeds_lost_sweep(now=started + 1) == 0  # not yet 5 s
    scaled.hset("test-streaming:frame-times", "cam-s", started + 3)  # a worker's last frame
    assert services.stream_feeds_lost_sweep(now=started + 7) == 0  # 4 s since that frame
    assert services.stream_feeds_lost_sweep(now=started + 9) == 1  # 6 s: lost
    assert services.stream_feeds_lost_sweep(now=started + 12) == 0  # still, once
    assert [(a.kind, a.resolved_at) for a in _alarms("cam-s")] == [("lost", None)]
    scaled.hset("test-streaming:frame-times", "cam-s", started + 13)  # a worker took it over
    assert services.stream_feeds_lost_sweep(now=started + 14) == 1
    assert services.stream_feeds_lost_sweep(now=started + 15) == 0
    assert _notified("cam-s") == ["streaming.alarm.lost", "streaming.alarm.lost.resolved"]
    # Lost again, then stopped while no worker runs: the stop resolves it.
    assert services.stream_feeds_lost_sweep(now=started + 20) == 1
    services.stream_stop(camera_id="cam-s")
    assert services.stream_feeds_lost_sweep(now=started + 21) == 1
    assert all(a.resolved_at is not None for a in _alarms("cam-s"))


def test_the_beat_sweep_is_scheduled_in_scaled_mode_only():
    from broadcastops import settings as project_settings

    scheduled = "streaming-lost-feeds" in project_settings.CELERY_BEAT_SCHEDULE
    assert scheduled == bool(project_settings.STREAMING_REDIS_URL)
