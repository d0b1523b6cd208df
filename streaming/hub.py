"""The frame hub of one web process: the newest frame per camera and rendition, and fan-out.

Frames reach the hub from producer threads (embedded mode) or from one Redis subscription
per camera (scaled mode); they never travel through the channel layer. The hub keeps only
the newest frame of each rendition and offers it to each viewer; a viewer that has not
acknowledged its previous frame is skipped and later gets whatever is newest then. Because
daphne's ``send()`` never waits for the socket (reference/perf-limits.md), this
acknowledgement is the only thing that keeps a stalled browser from piling frames up in
the server: at most ``STREAMING_ACK_WINDOW`` frames per viewer are ever in flight.
"""

import asyncio
import contextlib
import enum
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeGuard

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django import db
from django.conf import settings

from broadcastops.aio import task_cancel
from streaming import runtime
from streaming.frames import Frame
from streaming.redisbus import RedisSource
from streaming.selectors import camera_feed_get
from streaming.types import FEED_HEALTH, Demand, ProducerSpec

logger = logging.getLogger(__name__)

# Sends between two forced yields to the event loop: a send never suspends on its own, and
# acknowledgements, other sockets and what Twisted still buffers wait for the loop to run.
_SENDS_PER_YIELD = 32
_SPEC_REFRESH_S = 5.0


class ViewerSlot:
    """One viewer's flow-control state: at most ``window`` frames in flight, never a queue.

    A window of N lets a viewer acknowledge every Nth frame with one message, which divides
    the acknowledgements the server reads by N; a viewer that keeps up sees no extra latency
    (its acknowledgement is back long before the next frame is encoded).
    """

    counts_as_viewer = True

    def __init__(
        self,
        *,
        width: int,
        max_fps: float,
        send: Callable[[bytes], Awaitable[None]],
        send_text: Callable[[str], Awaitable[None]] | None = None,
        window: int = 1,
    ):
        self.width = width
        self.max_fps = max_fps
        self.window = window
        self.send_text = send_text
        self.interval_s = 1.0 / max_fps if max_fps else 0.0
        self.in_flight = 0
        self.awaiting_since = 0.0
        self.last_key: tuple[str, int] | None = None
        self.last_sent_at = 0.0
        self.frames_sent = 0
        self._send = send

    def wants(self, frame: Frame | None) -> TypeGuard[Frame]:
        if frame is None or self.in_flight >= self.window:
            return False
        if (frame.session_id, frame.seq) == self.last_key:
            return False
        # Measured from the last frame sent, not on a grid of its own: the producer already
        # encodes a rendition at its fastest viewer's rate (streaming.producer), so a 15 fps
        # tile of a 15 fps rendition must take every frame, however late or early each one's
        # encode ends. A grid anchored on the first frame's encode time dropped every other
        # frame once a late one had moved it (7 frames/s of 15 on a busy wall). 0.6 of the
        # interval still skips every second frame of a 30 fps rendition for a 15 fps viewer.
        return not self.interval_s or frame.encoded_at - self.last_sent_at >= 0.6 * self.interval_s

    async def offer(self, frame: Frame) -> None:
        if not self.in_flight:
            self.awaiting_since = time.monotonic()
        self.in_flight += 1
        self.last_key = (frame.session_id, frame.seq)
        self.last_sent_at = frame.encoded_at
        self.frames_sent += 1
        await self._send(self.payload(frame))

    def payload(self, frame: Frame) -> bytes:
        return frame.data

    def acknowledge(self, frames: int = 1) -> None:
        self.in_flight = max(0, self.in_flight - frames)
        self.awaiting_since = time.monotonic()

    @property
    def stalled(self) -> bool:
        """No acknowledgement for a while: status messages would pile up too, so hold them."""
        return bool(self.in_flight) and time.monotonic() - self.awaiting_since > 5.0


class WallTileSlot(ViewerSlot):
    """One tile of a camera wall: a viewer of its own (its window, its rate, its skips), on a
    socket that carries every tile of the browser, so its frames are tagged with the camera.

    A tile the browser cannot keep up with runs out of window and skips to the newest frame,
    as a viewer does; the other tiles of the same socket keep their own windows.
    """

    def __init__(self, *, tag: Callable[[Frame], bytes], **kwargs: Any):
        super().__init__(**kwargs)
        self._tag = tag

    def payload(self, frame: Frame) -> bytes:
        return self._tag(frame)


class LatestSlot(ViewerSlot):
    """A viewer that takes frames itself (MJPEG, snapshot): keeps the newest, wakes a reader."""

    def __init__(self, *, width: int, max_fps: float = 0.0, counts_as_viewer: bool = True):
        super().__init__(width=width, max_fps=max_fps, send=self._store)
        self.counts_as_viewer = counts_as_viewer
        self.frame: Frame | None = None
        self.ready = asyncio.Event()

    async def _store(self, data: bytes) -> None:
        self.ready.set()

    async def offer(self, frame: Frame) -> None:
        self.frame = frame
        await super().offer(frame)

    async def next_frame(self, timeout: float) -> Frame | None:
        try:
            async with asyncio.timeout(timeout):
                await self.ready.wait()
        except TimeoutError:
            return None
        self.ready.clear()
        frame, self.frame = self.frame, None
        self.acknowledge()
        return frame


class CameraFeed:
    """One camera's frames and viewers inside this process."""

    def __init__(self, hub: "Hub", camera_id: str):
        self.hub = hub
        self.camera_id = camera_id
        self.viewers: dict[int, set[ViewerSlot]] = {}
        self.latest: dict[int, Frame] = {}
        self.spec: ProducerSpec | None = None
        self.spec_loaded_at = 0.0
        self.global_viewers: int | None = None  # scaled mode: counted across web processes
        self.alarms: list[str] = []  # the camera's open picture alarms (streaming.alarms)
        self._tagged: dict[int, tuple[Frame, bytes]] = {}
        self.last_frame_at = 0.0
        self.frames_received = 0
        self.lagging = False
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._first_load: asyncio.Task[None] | None = None
        # Joins under way (Hub.feed_pinned): the feed stays the hub's until they are done.
        self.pins = 0
        self._fps_window = (time.monotonic(), 0)
        self.fps = 0.0
        self.created_at = time.monotonic()

    # -- demand ------------------------------------------------------------------------------
    def demand(self) -> dict[int, float]:
        """Each watched width at the highest rate one of its viewers asks (0: full rate)."""
        demand: dict[int, float] = {}
        for width, slots in self.viewers.items():
            rates = [slot.max_fps for slot in slots]
            if rates:
                demand[width] = 0.0 if not all(rates) else max(rates)
        return demand

    @property
    def viewer_count(self) -> int:
        return sum(1 for slots in self.viewers.values() for s in slots if s.counts_as_viewer)

    # -- frames ------------------------------------------------------------------------------
    def deliver(self, frame: Frame) -> None:
        """Called on the loop for every frame of a watched rendition; never blocks."""
        if frame.width not in self.viewers:
            return
        self.latest[frame.width] = frame
        self.last_frame_at = time.monotonic()
        self.frames_received += 1
        self.lagging = False
        self._dirty.add(frame.width)
        self._wake.set()

    async def _fanout(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            sent = 0
            for width in dirty:
                frame = self.latest.get(width)
                for slot in list(self.viewers.get(width, ())):
                    if not slot.wants(frame):
                        continue
                    try:
                        await slot.offer(frame)
                    except Exception:  # a socket that went away: its consumer cleans up
                        logger.debug("Send failed camera=%s", self.camera_id, exc_info=True)
                    sent += 1
                    if sent % _SENDS_PER_YIELD == 0:
                        await asyncio.sleep(0)
            await asyncio.sleep(0)

    async def on_acknowledge(self, slot: ViewerSlot, frames: int = 1) -> None:
        slot.acknowledge(frames)
        frame = self.latest.get(slot.width)
        if slot.wants(frame):
            await slot.offer(frame)

    # -- status ------------------------------------------------------------------------------
    def status(
        self, slot: ViewerSlot | None = None, *, viewers: int | None = None
    ) -> dict[str, Any]:
        spec = self.spec
        now = time.monotonic()
        started, count = self._fps_window
        if now - started >= 1.0:
            self.fps = round((self.frames_received - count) / (now - started), 1)
            self._fps_window = (now, self.frames_received)
        if viewers is None:
            viewers = self.global_viewers if self.global_viewers is not None else self.viewer_count
        message = {
            "type": "status",
            "camera_id": self.camera_id,
            "state": "idle",
            "session_id": None,
            "upload_id": None,
            "position_s": None,
            "duration_s": None,
            "fps": self.fps,
            "source_fps": None,
            "speed": None,
            "loop": None,
            "viewers": viewers,
            "width": slot.width if slot else 0,
            "ack_window": slot.window if slot else 1,
            "mode": self.hub.mode,
            "alarms": self.alarms,
        }
        if spec is None:
            return message
        position_s, ended = spec.position_at(time.time())
        if ended:
            state = "ended"
        elif self.lagging:
            state = "lagging"
        elif not self.last_frame_at:
            state = "waiting"
        else:
            state = "playing"
        message.update(
            state=state,
            session_id=spec.session_id,
            upload_id=spec.upload_id,
            position_s=round(position_s, 3),
            duration_s=round(spec.duration_s, 3),
            source_fps=spec.fps,
            speed=spec.speed,
            loop=spec.loop,
        )
        return message

    async def _status_loop(self) -> None:
        interval = settings.STREAMING_STATUS_INTERVAL_S
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - self.spec_loaded_at > _SPEC_REFRESH_S:
                await self.spec_reload()
                replacement = await self.hub.source.feed_check(self)
                if replacement is not None:
                    self._tasks.append(replacement)
            age = time.monotonic() - self.last_frame_at if self.last_frame_at else None
            demanded = bool(self.demand())
            running = self.spec is not None and not self.spec.position_at(time.time())[1]
            if running and demanded:
                stale_since = self.last_frame_at or self.created_at
                self.lagging = time.monotonic() - stale_since > settings.STREAMING_FEED_LAG_S
            FEED_HEALTH[self.camera_id] = {
                "mode": self.hub.mode,
                "session_id": self.spec.session_id if self.spec else None,
                "viewers": self.viewer_count,
                "last_frame_age_s": round(age, 2) if age is not None else None,
                "lagging": self.lagging,
                "checked_at": time.time(),
            }
            if self.lagging:
                logger.warning(
                    "Feed lagging camera=%s session=%s last_frame_age_s=%s",
                    self.camera_id,
                    self.spec.session_id if self.spec else None,
                    age,
                )
            await self._status_send_all("status")

    async def _status_send_all(self, kind: str) -> None:
        """The same status to every viewer: built and serialised once per rendition and
        window (the only fields that differ between viewers), not once per viewer."""
        viewers = self.global_viewers if self.global_viewers is not None else self.viewer_count
        texts: dict[tuple[int, int], str] = {}
        sent = 0
        for slots in list(self.viewers.values()):
            for slot in list(slots):
                if slot.send_text is None or slot.stalled:
                    continue
                text = texts.get((slot.width, slot.window))
                if text is None:
                    message = self.status(slot, viewers=viewers)
                    message["type"] = kind
                    text = texts[slot.width, slot.window] = json.dumps(message)
                try:
                    await slot.send_text(text)
                except Exception:
                    logger.debug("Status send failed camera=%s", self.camera_id, exc_info=True)
                sent += 1
                if sent % _SENDS_PER_YIELD == 0:
                    await asyncio.sleep(0)

    async def _control_loop(self) -> None:
        """Session changes from services (``runtime.session_changed``), once per process.

        One channel-layer channel per camera and process, not one per viewer: the viewers'
        sockets never touch the channel layer.
        """
        layer = get_channel_layer()
        if layer is None:
            return
        group = runtime.control_group(self.camera_id)
        while True:
            channel = None
            try:
                channel = await layer.new_channel()
                await layer.group_add(group, channel)
                while True:
                    event = await layer.receive(channel)
                    if event.get("type") == "stream.alarms":
                        self.alarms = list(event.get("alarms") or [])
                        await self._status_send_all("status")
                        continue
                    if event.get("type") != "stream.session":
                        continue
                    spec = ProducerSpec(**event["spec"]) if event.get("spec") else None
                    self.spec_set(spec)
                    await self._status_send_all("session")
            except asyncio.CancelledError:
                if channel is not None:
                    with contextlib.suppress(Exception):
                        await layer.group_discard(group, channel)
                raise
            except Exception:  # the layer's Redis went away: the status loop still reloads
                logger.warning("Control channel failed camera=%s", self.camera_id, exc_info=True)
                await asyncio.sleep(1.0)

    async def spec_reload(self) -> None:
        spec, self.alarms = await database_sync_to_async(camera_feed_get)(camera_id=self.camera_id)
        self.spec_set(spec)

    async def spec_ensure(self) -> None:
        """Load the session once for every viewer that joins before it is known.

        Each wall socket joins every camera at once: 20 browsers opening a wall of 16 made
        320 reads, one after the other in the one thread that runs database calls, where 16
        were needed (the tiles took 5-15 s to join under load). Shielded: a viewer that
        leaves meanwhile does not cancel the read for the others.
        """
        if self.spec is not None:
            return
        if self._first_load is None or self._first_load.done():
            self._first_load = asyncio.ensure_future(self.spec_reload())
        await asyncio.shield(self._first_load)

    def tagged(self, frame: Frame) -> bytes:
        """The frame as the wall's socket carries it: tagged with its camera id.

        Built once per frame and rendition for every wall viewer (the same bytes object, so
        the broadcast writer frames it once too): a byte 1, the id's length, the id, the JPEG.
        """
        cached = self._tagged.get(frame.width)
        if cached is not None and cached[0] is frame:
            return cached[1]
        camera = frame.camera_id.encode("ascii")
        data = b"".join((b"\x01", len(camera).to_bytes(1, "big"), camera, frame.data))
        self._tagged[frame.width] = (frame, data)
        return data

    def spec_set(self, spec: ProducerSpec | None) -> None:
        if spec is None or self.spec is None or spec.session_id != self.spec.session_id:
            # Frames of another session must not be shown as this one's current frame.
            self.latest.clear()
            self.last_frame_at = 0.0
            self.created_at = time.monotonic()
        self.spec = spec
        self.spec_loaded_at = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.created_at = time.monotonic()
        self._tasks = [
            asyncio.ensure_future(self._fanout()),
            asyncio.ensure_future(self._status_loop()),
            asyncio.ensure_future(self._control_loop()),
        ]
        source_task = self.hub.source.feed_started(self)
        if source_task is not None:
            self._tasks.append(source_task)

    def close(self) -> None:
        for task in self._tasks:
            task_cancel(task)  # the control loop's receive can swallow a first cancel
        FEED_HEALTH.pop(self.camera_id, None)


def _producer_ensure(camera_id: str) -> None:
    """``runtime.producer_ensure`` in a pool thread of asyncio's, its database connection
    closed after: nothing else closes it (the pool's threads live as long as the loop, and
    PostgreSQL kept each one's connection as a session; a test database with a session left
    cannot be dropped)."""
    try:
        runtime.producer_ensure(camera_id)
    finally:
        db.connections.close_all()


class EmbeddedSource:
    """Producers are threads of this process; they read demand from and publish to hubs."""

    mode = "embedded"

    def __init__(self, hub: "Hub"):
        self.hub = hub
        runtime.BUS.register(hub)

    def feed_started(self, feed: CameraFeed) -> asyncio.Task[None] | None:
        return asyncio.ensure_future(self._ensure_producer(feed.camera_id))

    async def feed_check(self, feed: CameraFeed) -> asyncio.Task[None] | None:
        """Every few seconds while watched: a producer that could not start (the database
        was busy) or that died is started again, instead of leaving the viewers waiting."""
        await self._ensure_producer(feed.camera_id)
        return None

    async def _ensure_producer(self, camera_id: str) -> None:
        # After a restart the session is in the database but no producer runs yet.
        try:
            await asyncio.to_thread(_producer_ensure, camera_id)
        except Exception:
            logger.warning("Could not start the producer camera=%s", camera_id, exc_info=True)

    def demand_changed(self, feed: CameraFeed) -> None:
        runtime.producer_wake(feed.camera_id)


class _Unread(enum.Enum):
    """``Hub.feed_pinned``'s default: the caller has not read the camera's session."""

    UNREAD = 0


class Hub:
    """All camera feeds of one event loop (one per web process in production)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.feeds: dict[str, CameraFeed] = {}
        # Read by producer threads without a lock: replaced whole, never mutated.
        self.demand_snapshot: dict[str, Demand] = {}
        self.source: EmbeddedSource | RedisSource
        if settings.STREAMING_REDIS_URL:
            self.source = RedisSource(settings.STREAMING_REDIS_URL)
        else:
            self.source = EmbeddedSource(self)
        self.mode = self.source.mode

    @contextlib.asynccontextmanager
    async def feed_pinned(
        self, camera_id: str, *, spec: ProducerSpec | _Unread | None = _Unread.UNREAD
    ) -> AsyncIterator[CameraFeed]:
        """The camera's feed with its session read, kept the hub's until the block ends.

        The only way to a feed (there is no public getter): a feed made outside such a block
        stayed in the hub, its tasks running, unless a join followed (the MJPEG view's did
        not when the client left before reading). ``spec``: the session a caller has just
        read, so the feed reads none.

        A join waits for the session read; if meanwhile the feed's last viewer left, the feed
        was closed and dropped from the hub, and the joiner added its slot to a feed that no
        producer delivers to any more: a viewer that got nothing, for ever. A pinned feed is
        not closed when its last viewer leaves; the block's end closes it if nobody stayed
        (a join that failed or was cancelled leaves no feed behind either).
        """
        feed = self.feeds.get(camera_id)
        if feed is None:
            feed = self.feeds[camera_id] = CameraFeed(self, camera_id)
            feed.start()
        feed.pins += 1
        try:
            if spec is not _Unread.UNREAD:
                feed.spec_set(spec)
            await feed.spec_ensure()
            yield feed
        finally:
            feed.pins -= 1
            self._close_if_unused(feed)

    async def join(
        self,
        camera_id: str,
        slot: ViewerSlot,
        *,
        spec: ProducerSpec | _Unread | None = _Unread.UNREAD,
    ) -> CameraFeed:
        """Add a viewer; it gets the current frame at once when there is one. ``spec`` as in
        ``feed_pinned``."""
        async with self.feed_pinned(camera_id, spec=spec) as feed:
            feed.viewers.setdefault(slot.width, set()).add(slot)
            if self.demand_snapshot.get(camera_id) != feed.demand():
                self._demand_changed(feed)
            try:
                if slot.send_text is not None:
                    await slot.send_text(json.dumps(feed.status(slot)))
                frame = feed.latest.get(slot.width)
                if slot.wants(frame):
                    await slot.offer(frame)
            except BaseException:
                # The socket failed (or the join was cancelled) before its caller could keep
                # the slot: no viewer left behind, keeping the producer encoding for nobody.
                self.leave(camera_id, slot)
                raise
        return feed

    def leave(self, camera_id: str, slot: ViewerSlot) -> None:
        feed = self.feeds.get(camera_id)
        if feed is None:
            return
        slots = feed.viewers.get(slot.width)
        if slots is not None:
            slots.discard(slot)
            if not slots:
                del feed.viewers[slot.width]
                # The kept frame would be stale when someone comes back: drop it.
                feed.latest.pop(slot.width, None)
        if feed.viewers and self.demand_snapshot.get(camera_id) != feed.demand():
            self._demand_changed(feed)
        self._close_if_unused(feed)

    def _close_if_unused(self, feed: CameraFeed) -> None:
        if feed.viewers or feed.pins or self.feeds.get(feed.camera_id) is not feed:
            return
        feed.close()
        del self.feeds[feed.camera_id]
        self._demand_changed(feed, gone=True)

    def deliver(self, frame: Frame) -> None:
        feed = self.feeds.get(frame.camera_id)
        if feed is not None:
            feed.deliver(frame)

    def _demand_changed(self, feed: CameraFeed, *, gone: bool = False) -> None:
        snapshot = dict(self.demand_snapshot)
        if gone:
            snapshot.pop(feed.camera_id, None)
        else:
            snapshot[feed.camera_id] = feed.demand()
        self.demand_snapshot = snapshot
        self.source.demand_changed(feed)

    async def snapshot(self, camera_id: str, *, width: int, timeout: float) -> Frame | None:
        """The current frame of a camera, waiting up to ``timeout`` for the producer."""
        slot = LatestSlot(width=width, counts_as_viewer=False)
        await self.join(camera_id, slot)
        try:
            return await slot.next_frame(timeout)
        finally:
            self.leave(camera_id, slot)

    def spec_set(self, camera_id: str, spec: ProducerSpec | None) -> None:
        feed = self.feeds.get(camera_id)
        if feed is not None:
            feed.spec_set(spec)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub_get() -> Hub:
    """The hub of the running event loop (daphne runs one loop per process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
    return hub
