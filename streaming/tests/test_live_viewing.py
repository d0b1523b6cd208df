"""Watching over the WebSocket on the real ASGI app, with real producers on real clips."""

import asyncio
import json

import cv2
import numpy as np
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from broadcastops.asgi import application
from streaming import runtime, services
from streaming.frames import frame_unpack
from streaming.models import StreamSession, Upload

pytestmark = [pytest.mark.django_db(transaction=True)]


def _upload(path, camera_id="cam-1") -> Upload:
    return services.upload_create(
        camera_id=camera_id, incoming_path=path, original_name=path.name, actor=None
    )


def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _communicator(user, camera_id="cam-1", query="") -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(_cookie)(user)))
    path = f"/ws/live-monitoring/{camera_id}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


async def _next(comm, *, binary: bool, timeout=3.0):
    """The next message of the wanted kind, skipping the other kind."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, "no message of the wanted kind arrived"
        message = await comm.receive_output(remaining)
        if message["type"] == "websocket.close":
            raise AssertionError(f"socket closed: {message}")
        if binary and message.get("bytes") is not None:
            return frame_unpack(message["bytes"], camera_id="cam-1", width=0)
        if not binary and message.get("text") is not None:
            return json.loads(message["text"])


async def _start(upload, **kwargs) -> StreamSession:
    return await database_sync_to_async(services.stream_start)(
        camera_id=upload.camera_id, upload=upload, **kwargs
    )


async def test_viewer_gets_status_then_frames_only_after_each_ack(viewer, make_clip):
    upload = await database_sync_to_async(_upload)(make_clip(frames=90, fps=30.0))
    session = await _start(upload)
    comm = await _communicator(viewer)
    connected, _ = await comm.connect()
    assert connected

    status = await _next(comm, binary=False)
    assert status["type"] == "status" and status["camera_id"] == "cam-1"
    assert status["session_id"] == str(session.pk)
    first = await _next(comm, binary=True)
    image = cv2.imdecode(np.frombuffer(first.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3)
    assert first.session_id == str(session.pk)

    # A window of frames may be in flight; then, with no acknowledgement, nothing more than
    # status messages may come, however long we wait.
    window = status["ack_window"]
    assert window == settings.STREAMING_ACK_WINDOW >= 2
    last = first
    for _ in range(window - 1):
        following = await _next(comm, binary=True)
        assert following.seq > last.seq
        last = following
    for _ in range(4):
        message = await comm.receive_output(0.25) if not await comm.receive_nothing(0.25) else None
        assert message is None or message.get("bytes") is None

    await comm.send_to(text_data=f"ack {window}")
    after_ack = await _next(comm, binary=True)
    assert after_ack.seq > last.seq, "after the ack the viewer gets the newest frame"
    await comm.disconnect()


async def test_anonymous_and_roleless_users_are_refused(nobody, make_clip):
    for user in (None, nobody):
        comm = await _communicator(user)
        connected, code = await comm.connect()
        assert not connected
        assert code == 4403


async def test_many_viewers_share_one_encode_per_frame(viewer, make_clip):
    upload = await database_sync_to_async(_upload)(make_clip(frames=150, fps=30.0))
    await _start(upload)
    comms = [await _communicator(viewer) for _ in range(5)]
    for comm in comms:
        assert (await comm.connect())[0]
    received = 0
    for _ in range(10):
        for comm in comms:
            await _next(comm, binary=True)
            await comm.send_to(text_data='{"type": "ack"}')
            received += 1
    producer = runtime.producer_manager().get("cam-1")
    # 50 frames reached viewers; each was encoded once for all five.
    assert received == 50
    assert producer.frames_encoded <= 50 / 5 + 12
    for comm in comms:
        await comm.disconnect()


async def test_a_smaller_rendition_is_encoded_separately_and_scaled(viewer, make_clip):
    upload = await database_sync_to_async(_upload)(make_clip(frames=60, size=(640, 360)))
    await _start(upload)
    small = await _communicator(viewer, query="width=330")
    assert (await small.connect())[0]

    frame = await _next(small, binary=True)

    image = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[1] == 320  # snapped down to an allowed rendition width
    await small.disconnect()


async def test_replace_while_streaming_switches_viewers_and_deletes_nothing(viewer, make_clip):
    first_upload = await database_sync_to_async(_upload)(make_clip("one.mp4", frames=300))
    second_upload = await database_sync_to_async(_upload)(make_clip("two.mp4", frames=300))
    old = await _start(first_upload)
    comm = await _communicator(viewer)
    assert (await comm.connect())[0]
    await _next(comm, binary=True)
    old_producer = runtime.producer_manager().get("cam-1")

    new = await _start(second_upload)

    assert not old_producer.is_alive(), "the old producer stopped before the switch"
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        await comm.send_to(text_data="ack")
        frame = await _next(comm, binary=True)
        if frame.session_id == str(new.pk):
            break
        assert asyncio.get_running_loop().time() < deadline
    await database_sync_to_async(old.refresh_from_db)()
    assert old.state == StreamSession.State.REPLACED
    assert first_upload.path.exists() and second_upload.path.exists()
    assert await database_sync_to_async(Upload.objects.count)() == 2
    await comm.disconnect()


async def test_leaving_keeps_the_producer_and_coming_back_joins_the_same_position(
    viewer, make_clip
):
    upload = await database_sync_to_async(_upload)(make_clip(frames=300, fps=30.0))
    session = await _start(upload)
    comm = await _communicator(viewer)
    assert (await comm.connect())[0]
    before = await _next(comm, binary=True)
    await comm.disconnect()
    producer = runtime.producer_manager().get("cam-1")
    encoded = producer.frames_encoded

    await asyncio.sleep(1.0)
    # Nobody watches: the producer lives on but encodes nothing.
    assert producer.is_alive()
    assert producer.frames_encoded - encoded <= 1

    comm = await _communicator(viewer)
    assert (await comm.connect())[0]
    # Within moments of joining (a frame takes 33 ms; 2 s leaves a stalling VM room).
    after = await _next(comm, binary=True, timeout=2.0)
    assert after.session_id == str(session.pk)
    # The clock kept running while nobody watched: no restart from the beginning.
    assert after.position_s >= before.position_s + 0.9
    assert runtime.producer_manager().get("cam-1") is producer
    await comm.disconnect()


async def test_stop_tells_viewers_and_stops_the_producer(viewer, operator, make_clip):
    upload = await database_sync_to_async(_upload)(make_clip(frames=60))
    await _start(upload)
    comm = await _communicator(viewer)
    assert (await comm.connect())[0]
    await _next(comm, binary=True)
    producer = runtime.producer_manager().get("cam-1")

    await database_sync_to_async(services.stream_stop)(camera_id="cam-1", actor=operator)

    deadline = asyncio.get_running_loop().time() + 3
    while True:
        message = await _next(comm, binary=False)
        if message["type"] == "session":
            break
        assert asyncio.get_running_loop().time() < deadline
    assert message["state"] == "idle" and message["session_id"] is None
    assert not producer.is_alive()
    await comm.disconnect()


async def test_producer_restarts_after_a_web_restart_when_a_viewer_comes(viewer, make_clip):
    upload = await database_sync_to_async(_upload)(make_clip(frames=60))
    session = await _start(upload)
    runtime.producer_manager().shutdown()  # as if the web process had restarted

    comm = await _communicator(viewer)
    assert (await comm.connect())[0]
    frame = await _next(comm, binary=True)

    assert frame.session_id == str(session.pk)
    await comm.disconnect()


async def test_a_producer_that_died_while_watched_is_started_again(viewer, make_clip, monkeypatch):
    monkeypatch.setattr("streaming.hub._SPEC_REFRESH_S", 0.5)
    upload = await database_sync_to_async(_upload)(make_clip(frames=60))
    await _start(upload, loop=True)
    comm = await _communicator(viewer)
    assert (await comm.connect())[0]
    await _next(comm, binary=True)

    runtime.producer_manager().shutdown()  # the thread is gone, the session still runs
    await comm.send_to(text_data="ack 99")
    for _ in range(10):  # frames still in flight when it stopped
        if await comm.receive_nothing(0.3):
            break
        await comm.receive_output()
    await comm.send_to(text_data="ack 99")

    frame = await _next(comm, binary=True, timeout=5.0)
    assert runtime.producer_manager().get("cam-1").is_alive()
    assert frame.session_id
    await comm.disconnect()


async def _binary_frames_within(comm, seconds: float) -> int:
    """How many frames arrive in ``seconds`` (status messages skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    frames = 0
    while (remaining := deadline - loop.time()) > 0:
        # receive_output's timeout would cancel the application: wait with receive_nothing.
        if await comm.receive_nothing(min(remaining, 0.05), interval=0.01):
            continue
        if (await comm.receive_output()).get("bytes") is not None:
            frames += 1
    return frames


async def test_ack_n_frees_exactly_n_frames(viewer, make_clip):
    upload = await database_sync_to_async(_upload)(make_clip(frames=300, fps=30.0))
    await _start(upload)
    comm = await _communicator(viewer)
    assert (await comm.connect())[0]
    window = (await _next(comm, binary=False))["ack_window"]
    for _ in range(window):
        await _next(comm, binary=True)
    # The window is full: nothing more comes until an acknowledgement.
    assert await _binary_frames_within(comm, 0.5) == 0

    await comm.send_to(text_data="ack 3")
    # At 30 frames/s the three come within 0.1 s; a second leaves a noisy machine room.
    assert await _binary_frames_within(comm, 1.5) == 3
    await comm.send_to(text_data='{"type": "ack", "frames": 2}')
    assert await _binary_frames_within(comm, 1.5) == 2
    await comm.disconnect()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"text_data": "not json"}, 1008),
        ({"text_data": "ack -5"}, 1008),
        ({"text_data": "ack 0"}, 1008),
        ({"text_data": "ack 1.5"}, 1008),
        ({"text_data": '{"type": "ack", "frames": 1e999}'}, 1008),
        ({"text_data": '{"type": "ack", "frames": true}'}, 1008),
        ({"text_data": '{"type": "ack", "frames": -1}'}, 1008),
        ({"text_data": '{"type": "hello"}'}, 1008),
        ({"text_data": "[" * 100_000}, 1008),
        ({"text_data": '{"a": ' * 40 + "1" + "}" * 40}, 1008),
        ({"text_data": "ack " + "9" * 4000}, 1008),
        ({"bytes_data": b"\x00\x01"}, 1003),
    ],
    ids=[
        "not-json",
        "negative",
        "zero",
        "fraction",
        "infinite",
        "boolean",
        "negative-json",
        "other-type",
        "deep-nesting",
        "deep-object",
        "huge-count",
        "binary",
    ],
)
async def test_a_malformed_message_closes_with_a_reason_and_one_warning(
    viewer, make_clip, message, code, caplog
):
    upload = await database_sync_to_async(_upload)(make_clip(frames=60))
    await _start(upload)
    comm = await _communicator(viewer)
    assert (await comm.connect())[0]
    await _next(comm, binary=False)

    with caplog.at_level("WARNING"):
        await comm.send_to(**message)
        while True:
            out = await comm.receive_output(3)
            if out["type"] == "websocket.close":
                break
            if out.get("text") and json.loads(out["text"])["type"] == "error":
                error = json.loads(out["text"])

    assert out["code"] == code and out["reason"]
    assert error["code"] == "bad_message" and error["message"] == out["reason"]
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "closed" in r.message]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info]
