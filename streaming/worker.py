"""Scaled mode: a ``stream_worker`` process claims running sessions and publishes their frames
through Redis (``streaming.redisbus``); the web processes only subscribe.

The workers share the running sessions: each holds at most its share, ceil(running sessions /
live workers), counting the live workers in Redis (``RedisPublisherSink.worker_beat``). One
above its share (a worker joined, or it took everything while alone) hands a few back each
pass, and only a worker under its share claims them, so a session does not go back and forth.
"""

import logging
import math
import os
import socket
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

from streaming.alarms import AlarmThresholds
from streaming.producer import ProducerManager
from streaming.redisbus import RedisPublisherSink
from streaming.runtime import alarm_reporter
from streaming.selectors import stream_spec_list_running
from streaming.services import stream_session_lease, stream_session_release
from streaming.types import ProducerSpec

logger = logging.getLogger(__name__)

# A worker above its share hands back at most this many sessions a pass: a worker joining a
# full wall restarts a few cameras at a time, not half of them at once.
GIVE_BACK_PER_PASS = 2


class StreamWorker:
    """A ``stream_worker`` process: claims running sessions and publishes their frames."""

    def __init__(self, *, redis_url: str, worker_id: str | None = None) -> None:
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.lease_s = settings.STREAMING_WORKER_LEASE_S
        self.sink = RedisPublisherSink(redis_url, settings.STREAMING_REDIS_PREFIX)
        self.manager = ProducerManager(
            self.sink,
            max_output_fps=settings.STREAMING_MAX_OUTPUT_FPS,
            thresholds=AlarmThresholds.from_settings(),
            alarms=alarm_reporter(),
        )
        self._leases: dict[str, float] = {}

    def _hold(self, spec: ProducerSpec) -> bool:
        expires = self._leases.get(spec.session_id, 0.0)
        if expires - time.time() > self.lease_s / 2:
            return True
        if stream_session_lease(
            session_id=spec.session_id, worker_id=self.worker_id, lease_s=self.lease_s
        ):
            self._leases[spec.session_id] = time.time() + self.lease_s
            return True
        self._leases.pop(spec.session_id, None)
        return False

    def _share(self, running: int) -> int:
        """The most sessions this worker should hold now. Its registry entry lasts a lease,
        so a worker that died stops counting about when its leases run out. With Redis not
        answering there is no limit: the worker keeps what it holds and claims what nobody
        holds, as before the sharing (its frames go nowhere meanwhile anyway)."""
        live = self.sink.worker_beat(self.worker_id, ttl_s=self.lease_s)
        return running if live is None else math.ceil(running / live)

    def tick(self) -> list[str]:
        """One pass: renew its sessions, claim more while under its share, hand back a few
        above it, run exactly the producers of what it holds. Returns cameras."""
        specs = stream_spec_list_running()
        share = self._share(len(specs))
        # Its own first, so that the share counts them before any claim.
        others = [spec for spec in specs if spec.session_id not in self._leases]
        held = [spec for spec in specs if spec.session_id in self._leases and self._hold(spec)]
        for spec in others:
            if len(held) >= share:
                break
            if self._hold(spec):
                held.append(spec)
        for spec in held[share:][:GIVE_BACK_PER_PASS]:
            stream_session_release(session_id=spec.session_id, worker_id=self.worker_id)
            self._leases.pop(spec.session_id, None)
            held.remove(spec)
            logger.info(
                "Session handed back session=%s camera=%s worker=%s share=%d",
                spec.session_id,
                spec.camera_id,
                self.worker_id,
                share,
            )
        running = {spec.session_id for spec in specs}
        for session_id in set(self._leases) - running:
            self._leases.pop(session_id)
        self.manager.sync(held)
        self.sink.prune()
        cameras = {spec.camera_id for spec in held}
        # This worker's heartbeat per camera: beat's sweep (services.stream_feeds_lost_sweep)
        # judges a lost feed by it when this worker dies with its leases held.
        self.sink.frame_times_set(
            {c: t for c, t in list(self.manager.frame_times.items()) if c in cameras}
        )
        return [spec.camera_id for spec in held]

    def run(self, *, stop: threading.Event, max_seconds: float | None = None) -> None:
        deadline = time.monotonic() + max_seconds if max_seconds else None
        logger.info("Stream worker started worker=%s", self.worker_id)
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                close_old_connections()
                try:
                    self.tick()
                except Exception:  # the database or Redis is away: keep producing, retry
                    logger.exception("Stream worker pass failed worker=%s", self.worker_id)
                stop.wait(settings.STREAMING_WORKER_POLL_S)
        finally:
            self.manager.shutdown()
            self.sink.worker_leave(self.worker_id)
            self.sink.close()
            for session_id in list(self._leases):
                stream_session_release(session_id=session_id, worker_id=self.worker_id)
            # This thread's connection would otherwise stay open until the process ends.
            connection.close()
            logger.info("Stream worker stopped worker=%s", self.worker_id)
