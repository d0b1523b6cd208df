"""Scaled mode: a ``stream_worker`` process claims running sessions and publishes their frames
through Redis (``streaming.redisbus``); the web processes only subscribe."""

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

from streaming.alarms import AlarmChange, AlarmThresholds, LostWatch
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
        # Lost feeds of the sessions other workers hold, judged by the frame times they write
        # to Redis: a worker that dies judges nothing, and its sessions wait for their lease to
        # run out before another worker takes them (STREAMING_WORKER_LEASE_S).
        thresholds = self.manager.thresholds
        self.others_lost = LostWatch(thresholds) if thresholds is not None else None
        self._first_seen: dict[str, float] = {}  # session -> when this worker first saw it

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
        self.sink.frame_times_set(
            {c: t for c, t in list(self.manager.frame_times.items()) if c in cameras}
        )
        self._judge_others([spec for spec in specs if spec.camera_id not in cameras], cameras)
        return [spec.camera_id for spec in held]

    def _judge_others(self, others: list[ProducerSpec], held: set[str]) -> None:
        """Open a lost-feed alarm for another worker's camera whose frames stopped, and
        resolve the ones this worker opened when frames come again (from that worker, or from
        this one after taking the lease: its own judgement resolves it then)."""
        watch = self.others_lost
        if watch is None:
            return
        now = time.time()
        for camera_id in held & set(watch.open):
            watch.open.pop(camera_id)  # this worker's producer judges it from now on
        running = {spec.session_id for spec in others}
        self._first_seen = {s: t for s, t in self._first_seen.items() if s in running}
        changes: list[AlarmChange] = []
        others_cameras = {spec.camera_id for spec in others}
        for camera_id in set(watch.open) - others_cameras - held:
            changes += watch.forget(camera_id, now)  # the session stopped
        times = self.sink.frame_times_get([spec.camera_id for spec in others])
        if times is None:  # Redis is away: no evidence either way
            self._report(changes)
            return
        for spec in others:
            seen = self._first_seen.setdefault(spec.session_id, now)
            last = max(times.get(spec.camera_id, 0.0), seen)
            if spec.position_at(now)[1]:
                last = now  # ended, not looping: no frame is due
            was_open = spec.camera_id in watch.open
            judged = watch.judge(
                camera_id=spec.camera_id, session_id=spec.session_id, last_frame_at=last, now=now
            )
            # Only what this judgement opened is resolved here: the holder's own all-clear
            # would otherwise be repeated, or an alarm its producer raised closed too early.
            changes += [c for c in judged if c.opened or was_open]
        self._report(changes)

    def _report(self, changes: list[AlarmChange]) -> None:
        if changes and self.manager.alarms is not None:
            self.manager.alarms.report(changes)

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
            for session_id in list(self._leases):
                stream_session_release(session_id=session_id, worker_id=self.worker_id)
            # This thread's connection would otherwise stay open until the process ends.
            connection.close()
            logger.info("Stream worker stopped worker=%s", self.worker_id)
