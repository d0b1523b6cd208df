"""Scaled mode: a ``stream_worker`` process claims running sessions and publishes their frames
through Redis (``streaming.redisbus``); the web processes only subscribe."""

import logging
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

    def tick(self) -> list[str]:
        """One pass: claim or renew sessions, run exactly their producers. Returns cameras."""
        specs = stream_spec_list_running()
        held = [spec for spec in specs if self._hold(spec)]
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
            self.sink.close()
            for session_id in list(self._leases):
                stream_session_release(session_id=session_id, worker_id=self.worker_id)
            # This thread's connection would otherwise stay open until the process ends.
            connection.close()
            logger.info("Stream worker stopped worker=%s", self.worker_id)
