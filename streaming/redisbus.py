"""Scaled mode: frames through Redis pub/sub, one subscription per web process and camera.

Keys (under ``STREAMING_REDIS_PREFIX``):
  frames:<camera>:<width>   pub/sub channel of one rendition's frames
  latest:<camera>:<width>   the newest frame, so a (re)subscribing process resumes at once
  demand:<camera>           sorted set: renditions somebody watches ("<width>" at the source's
                            rate, "<width>@<fps>" at a lower one), scored by expiry
  viewers:<camera>          hash: viewers per web process, "count:expiry"
  frame-times               hash: camera -> when its stream worker last decoded a frame (epoch
                            s), so that beat's sweep judges a lost feed when a worker dies
                            (``services.stream_feeds_lost_sweep``, read by
                            ``selectors.frame_times_read``)
  workers                   sorted set: the live stream workers, each scored by when its entry
                            expires (``RedisPublisherSink.worker_beat``), so that the workers
                            share the running sessions (``streaming.worker``)

Redis disconnects a subscriber that falls 32 MB behind and the messages are lost without a
word (reference/perf-limits.md), so the subscriber reconnects with backoff, resumes from
``latest`` and the feed reports itself as lagging meanwhile.
"""

import asyncio
import contextlib
import logging
import threading
import time
from typing import cast

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.client import PubSub

from streaming.frames import Frame, frame_unpack
from streaming.selectors import frame_times_key
from streaming.types import PROCESS_TOKEN, Demand, WatchedFeed, demand_merge

logger = logging.getLogger(__name__)

DEMAND_TTL_S = 5.0
_ADVERTISE_EVERY_S = 1.0
_DEMAND_CACHE_S = 0.2
# Every call of the stream worker's to Redis (connect, read, write) gives up after this.
_REDIS_TIMEOUT_S = 2.0
# A frame that waited longer than this for the sender (Redis slow or away) is dropped.
_SEND_WITHIN_S = 0.5
# After a failed send the sender waits this long before the next (the frames meanwhile drop).
_RETRY_AFTER_S = 0.5


def frames_channel(prefix: str, camera_id: str, width: int) -> str:
    return f"{prefix}:frames:{camera_id}:{width}"


def latest_key(prefix: str, camera_id: str, width: int) -> str:
    return f"{prefix}:latest:{camera_id}:{width}"


def demand_key(prefix: str, camera_id: str) -> str:
    return f"{prefix}:demand:{camera_id}"


def viewers_key(prefix: str, camera_id: str) -> str:
    return f"{prefix}:viewers:{camera_id}"


def demand_member(width: int, fps: float) -> str:
    return f"{width}@{fps:g}" if fps else str(width)


def demand_parse(members: list[bytes]) -> Demand:
    """The web processes' demand entries merged: each width at its highest rate."""
    demand: Demand = {}
    for member in members:
        width, _, fps = member.decode().partition("@")
        demand = demand_merge(demand, {int(width): float(fps) if fps else 0.0})
    return demand


class RedisPublisherSink:
    """The stream worker's side: reads demand, publishes each encoded frame once.

    ``publish`` never waits for Redis: it leaves the frame for the sink's sender thread and
    returns. A round trip per frame (the frame's SET and PUBLISH, then the reply) used to hold
    the producer thread: 27 % of its samples with 12 full-size cameras on two full cores, 85
    of those 162 waiting for the reply (benchmarks/results/streaming_wall.md, run 7). The
    sender writes every frame waiting at the time in one pipeline, so frames that arrive
    during a round trip share the next one. Memory is bounded: at most one frame waits per
    rendition (a newer one replaces it, as the hub's viewers skip to the newest), and one
    that waited longer than ``_SEND_WITHIN_S`` (Redis slow or away) is dropped, not sent
    late. After a failed send the sender waits ``_RETRY_AFTER_S``, dropping what comes
    meanwhile, rather than reconnecting once per frame.
    """

    def __init__(self, url: str, prefix: str, *, timeout_s: float = _REDIS_TIMEOUT_S):
        self.prefix = prefix
        self.redis = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._timeout_s = timeout_s
        self._demand: dict[str, tuple[float, Demand]] = {}
        self._last_error_at = 0.0
        # (camera, width) -> (when handed over, frame): the frames waiting for the sender.
        self._waiting: dict[tuple[str, int], tuple[float, Frame]] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._closed = threading.Event()
        self.frames_sent = 0
        self.frames_dropped = 0  # replaced while waiting, too late, failed or left at close
        self.sends = 0  # pipelines written (round trips)
        self.sends_failed = 0
        # Started here, in the thread that makes the sink (the worker's main thread): a thread
        # started by a producer would inherit its nice value (streaming.producer).
        self._sender = threading.Thread(target=self._send_run, name="redis-sender", daemon=True)
        self._sender.start()

    def _error(self, what: str, ids: str, exc: Exception, *, label: str = "camera") -> None:
        if time.monotonic() - self._last_error_at > 10:
            logger.warning("Redis %s failed %s=%s: %s", what, label, ids, exc)
            self._last_error_at = time.monotonic()

    def demand(self, camera_id: str) -> Demand:
        cached = self._demand.get(camera_id)
        now = time.monotonic()
        if cached and now - cached[0] < _DEMAND_CACHE_S:
            return cached[1]
        try:
            members = cast(
                "list[bytes]",
                self.redis.zrangebyscore(demand_key(self.prefix, camera_id), time.time(), "+inf"),
            )
            widths = demand_parse(members)
        except redis.RedisError as exc:
            self._error("demand read", camera_id, exc)
            widths = {}
        self._demand[camera_id] = (now, widths)
        return widths

    def publish(self, frame: Frame) -> None:
        """Leave the frame for the sender; returns at once, whatever Redis does."""
        with self._lock:
            if self._closed.is_set():
                self.frames_dropped += 1
                return
            replaced = self._waiting.get((frame.camera_id, frame.width))
            self._waiting[frame.camera_id, frame.width] = (time.monotonic(), frame)
            if replaced is not None:
                self.frames_dropped += 1
        self._ready.set()

    def _take(self) -> list[Frame]:
        """The frames waiting, the ones that waited too long dropped."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        now = time.monotonic()
        frames = [frame for at, frame in waiting.values() if now - at <= _SEND_WITHIN_S]
        with self._lock:
            self.frames_dropped += len(waiting) - len(frames)
        return frames

    def _send(self, frames: list[Frame]) -> bool:
        pipe = self.redis.pipeline(transaction=False)
        for frame in frames:
            pipe.set(
                latest_key(self.prefix, frame.camera_id, frame.width),
                frame.data,
                px=int(DEMAND_TTL_S * 1000),
            )
            pipe.publish(frames_channel(self.prefix, frame.camera_id, frame.width), frame.data)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            self._error("publish", ",".join(sorted({f.camera_id for f in frames})), exc)
            with self._lock:
                self.sends_failed += 1
                self.frames_dropped += len(frames)
            return False
        with self._lock:
            self.sends += 1
            self.frames_sent += len(frames)
        return True

    def _send_run(self) -> None:
        while not self._closed.is_set():
            self._ready.wait(1.0)
            self._ready.clear()
            try:
                frames = self._take()
                if frames and not self._send(frames):
                    self._closed.wait(_RETRY_AFTER_S)
            except Exception:  # a bug here must not end the publishing of every camera
                logger.exception("Frame sender pass failed")
                self._closed.wait(_RETRY_AFTER_S)

    def close(self) -> None:
        """Stop the sender (within the Redis timeout) and close the connections. The frames
        still waiting are dropped: a worker that stops has no viewer to be late for."""
        with self._lock:
            self._closed.set()
        self._ready.set()
        self._sender.join(self._timeout_s + 1.0)
        with self._lock:
            self.frames_dropped += len(self._waiting)
            self._waiting.clear()
        self.redis.close()

    def frame_times_set(self, times: dict[str, float]) -> None:
        """This worker's cameras and when each last decoded a frame (its heartbeat)."""
        if not times:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(frame_times_key(self.prefix), mapping=times)  # type: ignore[arg-type]
        pipe.expire(frame_times_key(self.prefix), 3600)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            self._error("frame times write", ",".join(times), exc)

    def worker_beat(self, worker_id: str, *, ttl_s: float) -> int | None:
        """Mark this worker live for ``ttl_s`` and count the live workers (itself included);
        None when Redis did not answer. A worker that died stops counting once its entry
        expires. Scores are each worker's own clock: the workers of one deployment are
        assumed to keep time within a second or so of each other."""
        key = f"{self.prefix}:workers"
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {worker_id: now + ttl_s})
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zcard(key)
        pipe.expire(key, 3600)
        try:
            return int(pipe.execute()[2])
        except redis.RedisError as exc:
            self._error("worker registry write", worker_id, exc, label="worker")
            return None

    def worker_leave(self, worker_id: str) -> None:
        """A stopping worker stops counting at once, so the others take its share now."""
        try:
            self.redis.zrem(f"{self.prefix}:workers", worker_id)
        except redis.RedisError as exc:
            self._error("worker registry remove", worker_id, exc, label="worker")

    def prune(self) -> None:
        """Forget demand entries whose web process stopped refreshing them: one round trip for
        every camera, so that a Redis that hangs costs a pass one timeout, not one a camera."""
        cameras = list(self._demand)
        if not cameras:
            return
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        for camera_id in cameras:
            pipe.zremrangebyscore(demand_key(self.prefix, camera_id), "-inf", now)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            self._error("demand prune", ",".join(cameras), exc)


class RedisSource:
    """The web process's side: one pub/sub connection per watched camera."""

    mode = "scaled"

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = settings.STREAMING_REDIS_PREFIX
        self._wake: dict[str, asyncio.Event] = {}
        self._runs: dict[str, asyncio.Task[None]] = {}

    def feed_started(self, feed: WatchedFeed) -> asyncio.Task[None]:
        self._wake[feed.camera_id] = asyncio.Event()
        task = self._runs[feed.camera_id] = asyncio.ensure_future(self._run(feed))
        return task

    async def feed_check(self, feed: WatchedFeed) -> asyncio.Task[None] | None:
        """Every few seconds while watched: a subscription that died of an unexpected error
        (Redis errors reconnect by themselves) is logged and started again. Its task is held
        by the feed, so asyncio would never report the error, and the viewers would wait for
        frames until the last of them left. Producers run in stream_worker processes."""
        task = self._runs.get(feed.camera_id)
        if task is None or not task.done() or task.cancelled():
            return None
        logger.error(
            "Frame subscription failed camera=%s; starting it again",
            feed.camera_id,
            exc_info=task.exception(),
        )
        return self.feed_started(feed)

    def demand_changed(self, feed: WatchedFeed) -> None:
        event = self._wake.get(feed.camera_id)
        if event is not None:
            event.set()

    async def _run(self, feed: WatchedFeed) -> None:
        camera_id = feed.camera_id
        backoff = 0.2
        wake = self._wake[camera_id]
        task = asyncio.current_task()
        assert task is not None  # started by feed_started as a task
        try:
            while True:
                client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2.0)
                pubsub = client.pubsub()
                subscribed: set[int] = set()
                try:
                    next_advertise = 0.0
                    while True:
                        if task.cancelling():
                            # A cancel that a library's timeout swallowed (Python 3.11's
                            # wait_for race) must still end the loop, or loop shutdown hangs.
                            raise asyncio.CancelledError
                        demand = feed.demand()
                        wanted = set(demand)
                        for width in wanted - subscribed:
                            await pubsub.subscribe(frames_channel(self.prefix, camera_id, width))
                            subscribed.add(width)
                            # Resume from the newest frame rather than wait for the next one.
                            data = cast(
                                "bytes | None",
                                await client.get(latest_key(self.prefix, camera_id, width)),
                            )
                            frame = data and frame_unpack(data, camera_id=camera_id, width=width)
                            if frame:
                                feed.deliver(frame)
                        for width in subscribed - wanted:
                            await pubsub.unsubscribe(frames_channel(self.prefix, camera_id, width))
                            subscribed.discard(width)
                        if time.monotonic() >= next_advertise:
                            await self._advertise(client, feed, demand, PROCESS_TOKEN)
                            next_advertise = time.monotonic() + _ADVERTISE_EVERY_S
                        if not subscribed:
                            wake.clear()
                            with contextlib.suppress(TimeoutError):
                                async with asyncio.timeout(_ADVERTISE_EVERY_S):
                                    await wake.wait()
                            continue
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=0.25
                        )
                        if message and message["type"] == "message":
                            channel = message["channel"].decode()
                            width = int(channel.rsplit(":", 1)[1])
                            frame = frame_unpack(message["data"], camera_id=camera_id, width=width)
                            if frame:
                                feed.deliver(frame)
                        backoff = 0.2
                except (redis.RedisError, OSError) as exc:
                    feed.lagging = True
                    logger.warning(
                        "Frame subscription lost camera=%s: %s; reconnecting in %.1f s",
                        camera_id,
                        exc,
                        backoff,
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                finally:
                    await self._close(client, pubsub, camera_id, PROCESS_TOKEN)
        finally:
            # Closed with its feed (cancelled): forget it. Died of an error: kept for
            # feed_check to see and replace.
            if task.cancelling() and self._runs.get(camera_id) is task:
                self._wake.pop(camera_id, None)
                self._runs.pop(camera_id, None)

    async def _advertise(
        self, client: aioredis.Redis, feed: WatchedFeed, demand: Demand, token: str
    ) -> None:
        now = time.time()
        pipe = client.pipeline(transaction=False)
        if demand:
            pipe.zadd(
                demand_key(self.prefix, feed.camera_id),
                {demand_member(width, fps): now + DEMAND_TTL_S for width, fps in demand.items()},
            )
        key = viewers_key(self.prefix, feed.camera_id)
        pipe.hset(key, token, f"{feed.viewer_count}:{now + DEMAND_TTL_S}")
        pipe.expire(key, 60)
        pipe.hgetall(key)
        results = await pipe.execute()
        total = 0
        for value in results[-1].values():
            count, _, expires = value.decode().partition(":")
            if float(expires) > now:
                total += int(count)
        feed.global_viewers = total

    async def _close(
        self, client: aioredis.Redis, pubsub: PubSub, camera_id: str, token: str
    ) -> None:
        try:
            # Bounded: a connection cut mid-read must not hold up a shutdown.
            async with asyncio.timeout(2.0):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py 8 leaves it untyped
                await client.hdel(viewers_key(self.prefix, camera_id), token)
        except (redis.RedisError, OSError, TimeoutError):
            pass
        finally:
            await client.aclose()
