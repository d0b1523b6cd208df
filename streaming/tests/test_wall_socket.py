"""The camera wall's socket: one connection for every tile, frames tagged by camera, one
acknowledgement window per tile; and the lower-rate rendition that decodes without encoding."""

import asyncio
import itertools
import json
import threading
import time

import cv2
import numpy as np
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from broadcastops.asgi import application
from streaming import runtime, services
from streaming.frames import frame_unpack
from streaming.media import video_probe
from streaming.producer import Producer
from streaming.tests.test_producer import _spec

pytestmark = [pytest.mark.django_db(transaction=True)]


def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _wall(user, query="") -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(_cookie)(user)))
    path = "/ws/live-monitoring-wall/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


def _untag(data: bytes):
    """(camera, Frame) of a wall frame: 1, the id's length, the id, the JPEG."""
    assert data[0] == 1
    length = data[1]
    camera = data[2 : 2 + length].decode()
    return camera, frame_unpack(data[2 + length :], camera_id=camera, width=0)


async def _frames(comm, count, *, timeout=6.0, ack=None):
    """The next ``count`` frames as (camera, frame); ``ack`` cameras are acknowledged."""
    got = []
    statuses = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < count:
        remaining = deadline - loop.time()
        assert remaining > 0, f"only {len(got)} frames: {[c for c, _ in got]}"
        message = await comm.receive_output(remaining)
        assert message["type"] != "websocket.close", message
        if message.get("bytes") is not None:
            camera, frame = _untag(message["bytes"])
            got.append((camera, frame))
            if ack is not None and camera in ack:
                await comm.send_to(text_data=f"ack {camera} 1")
        elif message.get("text") is not None:
            statuses.append(json.loads(message["text"]))
    return got, statuses


def _start_cameras(make_clip, cameras, *, size=(640, 360), frames=300):
    for camera in cameras:
        path = make_clip(f"{camera}.mp4", frames=frames, fps=30.0, size=size)
        upload = services.upload_create(
            camera_id=camera, incoming_path=path, original_name=path.name, actor=None
        )
        services.stream_start(camera_id=camera, upload=upload)


async def test_one_socket_carries_every_tile_tagged_by_camera(viewer, make_clip):
    cameras = ["wall-a", "wall-b", "wall-c"]
    await database_sync_to_async(_start_cameras)(make_clip, cameras)
    comm = await _wall(viewer, "width=320&fps=15")
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "watch", "cameras": cameras, "full": None}))

    got, statuses = await _frames(comm, 45, ack=set(cameras))
    by_camera = {c: [f for cam, f in got if cam == c] for c in cameras}
    assert all(len(frames) >= 8 for frames in by_camera.values()), {
        c: len(f) for c, f in by_camera.items()
    }
    for frames in by_camera.values():
        image = cv2.imdecode(np.frombuffer(frames[-1].data, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (180, 320, 3)  # the wall rendition, not the 640 source
        # 15 frames/s of a 30 frames/s source: every second source frame (a step of 2/30 s).
        steps = [round((b.position_s - a.position_s) * 30) for a, b in itertools.pairwise(frames)]
        assert steps.count(2) >= len(steps) - 2, steps
    status_cameras = {s["camera_id"] for s in statuses if s["type"] == "status"}
    assert status_cameras == set(cameras)
    assert any(s["type"] == "watching" and s["cameras"] == cameras for s in statuses)
    assert all(s["alarms"] == [] for s in statuses if s["type"] == "status")
    await comm.disconnect()


async def test_a_tile_that_is_not_acknowledged_skips_without_slowing_the_others(viewer, make_clip):
    await database_sync_to_async(_start_cameras)(make_clip, ["slow-tile", "fast-tile"])
    comm = await _wall(viewer, "width=320&fps=15")
    assert (await comm.connect())[0]
    await comm.send_to(
        text_data=json.dumps({"type": "watch", "cameras": ["slow-tile", "fast-tile"]})
    )
    window = 8
    started = time.monotonic()
    got, _ = await _frames(comm, 40, ack={"fast-tile"}, timeout=8.0)
    elapsed = time.monotonic() - started
    slow = [f for c, f in got if c == "slow-tile"]
    fast = [f for c, f in got if c == "fast-tile"]
    assert len(slow) <= window  # its window, then nothing until it acknowledges
    assert len(fast) >= 40 - window
    assert len(fast) / elapsed > 12, f"{len(fast) / elapsed:.1f} frames/s for the fast tile"

    # Acknowledging the slow tile now gives it the newest frame, not the ones it missed.
    last_seq = slow[-1].seq
    await comm.send_to(text_data=json.dumps({"type": "ack", "camera": "slow-tile", "frames": 8}))
    more, _ = await _frames(comm, 12, ack={"fast-tile"})
    resumed = [f for c, f in more if c == "slow-tile"]
    assert resumed and resumed[0].seq > last_seq + 1
    await comm.disconnect()


async def test_the_tile_opened_full_size_gets_the_source_size_and_rate(viewer, make_clip):
    await database_sync_to_async(_start_cameras)(make_clip, ["big", "small"])
    comm = await _wall(viewer, "width=320&fps=15")
    assert (await comm.connect())[0]
    await comm.send_to(
        text_data=json.dumps({"type": "watch", "cameras": ["big", "small"], "full": "big"})
    )
    got, _ = await _frames(comm, 40, ack={"big", "small"})
    big = [f for c, f in got if c == "big"]
    small = [f for c, f in got if c == "small"]
    image = cv2.imdecode(np.frombuffer(big[-1].data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)
    # Twice the rate of the wall tile: consecutive source frames.
    steps = [round((b.position_s - a.position_s) * 30) for a, b in itertools.pairwise(big)]
    assert steps.count(1) >= len(steps) - 3, steps
    assert len(big) > 1.5 * len(small)

    # Back to the wall: the same camera at the tile's size again, on the same feed (the wall
    # is its only viewer: left before the join, the feed was closed and made again).
    from streaming.hub import hub_get

    feed = hub_get().feeds["big"]
    await comm.send_to(text_data=json.dumps({"type": "watch", "cameras": ["big", "small"]}))
    await asyncio.sleep(0.3)
    got, _ = await _frames(comm, 30, ack={"big", "small"})
    image = cv2.imdecode(np.frombuffer(got[-1][1].data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (180, 320, 3)
    assert hub_get().feeds["big"] is feed
    await comm.disconnect()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"type": "watch", "cameras": ["..", "a"]}', 1008),
        ('{"type": "watch", "cameras": "a"}', 1008),
        ('{"type": "watch", "cameras": ["a"], "full": "b"}', 1008),
        ("ack cam-1 0", 1008),
        ("ack", 1008),
        ('{"type": "ack", "camera": "a", "frames": true}', 1008),
        ("hello", 1008),
    ],
)
async def test_a_message_the_wall_cannot_use_closes_the_socket(viewer, text, code):
    comm = await _wall(viewer)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=text)
    error = json.loads((await comm.receive_output(2))["text"])
    assert error["code"] == "bad_message"
    closed = await comm.receive_output(2)
    assert closed == {"type": "websocket.close", "code": code, "reason": error["message"]}


async def test_too_many_tiles_are_refused(viewer, settings):
    settings.STREAMING_WALL_MAX_TILES = 2
    comm = await _wall(viewer)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "watch", "cameras": ["a", "b", "c"]}))
    error = json.loads((await comm.receive_output(2))["text"])
    assert "at most 2" in error["message"]


async def test_anonymous_and_roleless_users_get_no_wall(nobody):
    for user in (None, nobody):
        comm = await _wall(user)
        connected, code = await comm.connect()
        assert not connected and code == 4403


class RateSink:
    """Asks for one rendition at a rate; records what the producer publishes."""

    def __init__(self, demand, wanted=20):
        self._demand = demand
        self.frames = []
        self.wanted = wanted
        self.enough = threading.Event()

    def demand(self, camera_id):
        return self._demand

    def publish(self, frame):
        self.frames.append(frame)
        if len(self.frames) >= self.wanted:
            self.enough.set()


def test_a_lower_rate_rendition_grabs_the_frames_it_skips_and_encodes_once(make_clip):
    path = make_clip("thirty.mp4", frames=300, fps=30.0, size=(640, 360))
    info = video_probe(path)
    sink = RateSink({320: 15.0})
    producer = Producer(
        _spec(path, fps=info.fps, frame_count=info.frame_count), sink, max_output_fps=30.0
    )
    producer.start()
    try:
        assert sink.enough.wait(5), f"only {len(sink.frames)} frames"
    finally:
        producer.halt()
    indices = [round(f.position_s * 30) for f in sink.frames]
    steps = [b - a for a, b in itertools.pairwise(indices)]
    assert steps.count(2) >= len(steps) - 2, steps
    # Each skipped frame was decoded with grab() alone: as many grabs as conversions, and
    # one encode per converted frame (nothing encoded for nobody).
    assert producer.frames_encoded == len(sink.frames)
    assert producer.frames_retrieved <= len(sink.frames) + 1
    assert producer.frames_grabbed >= producer.frames_retrieved - 2


def test_two_rates_of_two_widths_each_get_their_own(make_clip):
    path = make_clip("two.mp4", frames=300, fps=30.0, size=(640, 360))
    info = video_probe(path)
    sink = RateSink({0: 0.0, 320: 15.0}, wanted=45)
    producer = Producer(
        _spec(path, fps=info.fps, frame_count=info.frame_count), sink, max_output_fps=30.0
    )
    producer.start()
    try:
        assert sink.enough.wait(5)
    finally:
        producer.halt()
    full = [round(f.position_s * 30) for f in sink.frames if f.width == 0]
    tile = [round(f.position_s * 30) for f in sink.frames if f.width == 320]
    assert [b - a for a, b in itertools.pairwise(full)].count(1) >= len(full) - 3
    assert [b - a for a, b in itertools.pairwise(tile)].count(2) >= len(tile) - 3
    assert 1.6 < len(full) / len(tile) < 2.5


def test_the_hub_demand_keeps_the_fastest_rate_of_a_width():
    from streaming.types import demand_merge

    assert demand_merge({640: 15.0}, {640: 30.0, 0: 0.0}) == {640: 30.0, 0: 0.0}
    assert demand_merge({640: 15.0}, {640: 0.0}) == {640: 0.0}
    assert runtime.BUS.demand("nobody-watches") == {}


async def test_walls_that_join_at_once_read_each_camera_once(viewer, make_clip, monkeypatch):
    """Every wall socket joins every camera at the same moment: one read of each camera's
    session for all of them, not one per socket and camera (20 browsers and 16 cameras made
    320 reads in the one thread that runs database calls, and the tiles took seconds to join
    on a busy machine)."""
    from streaming import hub as hub_module

    cameras = ["wall-r", "wall-s"]
    await database_sync_to_async(_start_cameras)(make_clip, cameras)
    reads: list[str] = []
    read = hub_module.camera_feed_get

    def counted(*, camera_id):
        reads.append(camera_id)
        time.sleep(0.05)  # a busy database thread: the other sockets arrive meanwhile
        return read(camera_id=camera_id)

    monkeypatch.setattr(hub_module, "camera_feed_get", counted)
    comms = [await _wall(viewer) for _ in range(5)]
    for comm in comms:
        assert (await comm.connect())[0]
    watch = json.dumps({"type": "watch", "cameras": cameras, "full": None})
    await asyncio.gather(*(comm.send_to(text_data=watch) for comm in comms))
    for comm in comms:
        while True:  # frames and statuses come first; "watching" ends the join
            text = (await comm.receive_output(timeout=10)).get("text")
            if text and json.loads(text).get("type") == "watching":
                break
    assert sorted(reads) == cameras, reads
    for comm in comms:
        await comm.disconnect()


async def test_a_socket_that_closes_while_joining_leaves_no_viewer_behind(monkeypatch):
    """A wall closed while it joins its tiles: the join's first send fails. The slot goes
    again (a viewer left behind would keep the camera's producer encoding for nobody), and the
    consumers' senders drop a send to a closed socket instead of ending with an ERROR."""
    from autobahn.exception import Disconnected

    from streaming import hub as hub_module
    from streaming.consumers import _senders

    monkeypatch.setattr(hub_module, "camera_feed_get", lambda *, camera_id: (None, []))
    hub = hub_module.Hub(asyncio.get_running_loop())

    async def closed(_text: str) -> None:
        raise Disconnected("Attempt to send on a closed protocol")

    async def no_frames(_data: bytes) -> None:
        raise AssertionError("no frame to send")

    slot = hub_module.ViewerSlot(width=320, max_fps=15.0, send=no_frames, send_text=closed)
    with pytest.raises(Disconnected):
        await hub.join("wall-gone", slot)
    assert "wall-gone" not in hub.feeds
    assert hub.demand_snapshot.get("wall-gone") is None

    async def send(_message: dict) -> None:
        raise Disconnected("Attempt to send on a closed protocol")

    send_frame, send_text = _senders(send)
    await send_text("{}")  # dropped, no exception
    await send_frame(b"\x01")


async def test_a_viewer_that_joins_while_the_last_other_one_leaves_keeps_a_live_feed(monkeypatch):
    """A join waits for the session read; the feed's only other viewer leaves meanwhile. The
    feed was closed and dropped from the hub, and the joiner added its slot to it anyway: no
    producer delivered to it any more, and the viewer got nothing, for ever."""
    from streaming import hub as hub_module
    from streaming.frames import Frame

    reads: list[str] = []
    release = threading.Event()

    def held(*, camera_id):
        reads.append(camera_id)
        if len(reads) > 1:  # the second viewer's read: held until the first one has left
            assert release.wait(10)
        return None, []  # an idle camera: every join reads its session

    monkeypatch.setattr(hub_module, "camera_feed_get", held)
    hub = hub_module.Hub(asyncio.get_running_loop())
    received: list[bytes] = []

    async def keep(data: bytes) -> None:
        received.append(data)

    async def status(_text: str) -> None:
        pass

    first = hub_module.ViewerSlot(width=320, max_fps=15.0, send=keep, send_text=status)
    second = hub_module.ViewerSlot(width=320, max_fps=15.0, send=keep, send_text=status)
    await hub.join("join-race", first)
    joining = asyncio.ensure_future(hub.join("join-race", second))
    async with asyncio.timeout(10):
        while len(reads) < 2:
            await asyncio.sleep(0.01)
    hub.leave("join-race", first)
    release.set()
    feed = await joining

    assert hub.feeds.get("join-race") is feed, "the viewer joined a feed the hub dropped"
    assert feed.viewers == {320: {second}}
    assert hub.demand_snapshot.get("join-race") == {320: 15.0}
    frame = Frame("join-race", 320, 1, time.time(), 0.0, "0" * 32, b"jpeg")
    hub.deliver(frame)  # what a producer does
    async with asyncio.timeout(5):
        while not received:
            await asyncio.sleep(0.01)
    assert received == [b"jpeg"]
    hub.leave("join-race", second)
    assert "join-race" not in hub.feeds
    assert hub.demand_snapshot.get("join-race") is None


@pytest.mark.parametrize("during_read", [1, 2])
async def test_a_wall_tile_that_joins_while_the_last_other_viewer_leaves_gets_frames(
    viewer, make_clip, monkeypatch, during_read
):
    """The same race through the wall's socket: a tile of an idle camera reads the camera's
    session twice (once to size the tile, once in the join), and the camera's only other
    viewer leaves during either read. When the camera starts, the tile shows it."""
    from streaming import hub as hub_module
    from streaming.hub import ViewerSlot, hub_get

    read = hub_module.camera_feed_get
    wall_reads: list[str] = []
    left = threading.Event()
    hub = hub_get()
    loop = asyncio.get_running_loop()

    async def nothing(_data) -> None:
        pass

    other = ViewerSlot(width=320, max_fps=15.0, send=nothing, send_text=nothing)

    def held(*, camera_id):
        feed = hub.feeds.get(camera_id)
        watched = feed is not None and other in feed.viewers.get(320, ())
        if camera_id == "race-wall" and watched and not left.is_set():
            wall_reads.append(camera_id)
            if len(wall_reads) == during_read:  # the other viewer leaves meanwhile
                loop.call_soon_threadsafe(hub.leave, camera_id, other)
                loop.call_soon_threadsafe(left.set)
                assert left.wait(10)
        return read(camera_id=camera_id)

    monkeypatch.setattr(hub_module, "camera_feed_get", held)
    await hub.join("race-wall", other)
    comm = await _wall(viewer, "width=320&fps=15")
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "watch", "cameras": ["race-wall"]}))
    while True:
        text = (await comm.receive_output(timeout=10)).get("text")
        if text and json.loads(text).get("type") == "watching":
            break
    assert left.is_set(), f"the wall read the session {len(wall_reads)} times, not twice"
    await database_sync_to_async(_start_cameras)(make_clip, ["race-wall"])
    got, _ = await _frames(comm, 5, ack={"race-wall"}, timeout=10.0)
    assert {camera for camera, _ in got} == {"race-wall"}
    await comm.disconnect()
