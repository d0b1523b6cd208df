"""Where producers run: threads of the web process (embedded) or stream_worker processes.

Services call ``session_changed`` after a commit; it tells the viewers through the channel
layer (a control message, never a frame) and, in embedded mode, makes this process's
producer match the database.
"""

import logging
import os
import socket
import sys
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from streaming.producer import ProducerManager, ProducerSpec

logger = logging.getLogger(__name__)

# How often a thread holding the GIL lets another one have it (Python's default: 5 ms).
_SWITCH_INTERVAL_S = 0.0002

_manager: ProducerManager | None = None
_manager_lock = threading.Lock()
# Reading the database and applying the result happen under one lock, so that a refresh
# that read the state before a commit can never overwrite one that read it after.
_refresh_lock = threading.Lock()


def embedded() -> bool:
    return not settings.STREAMING_REDIS_URL


def control_group(camera_id: str) -> str:
    return f"streaming.camera.{camera_id}"


def producer_manager() -> ProducerManager:
    """This process's producers (embedded mode), publishing to its hubs."""
    global _manager
    with _manager_lock:
        if _manager is None:
            from streaming.hub import BUS

            _manager = ProducerManager(BUS, max_output_fps=settings.STREAMING_MAX_OUTPUT_FPS)
            # A producer thread takes the GIL back three times a frame (after decoding, after
            # encoding, after sleeping); with the default 5 ms switch interval a busy event
            # loop made each of those wait up to 5 ms, and at 300 viewers the producer fell
            # to 15 frames/s with the core only 80 % busy (py-spy, benchmarks/results).
            sys.setswitchinterval(_SWITCH_INTERVAL_S)
        return _manager


def producer_refresh(camera_id: str) -> None:
    """Make the camera's producer in this process match the database (embedded mode)."""
    if not embedded():
        return
    from streaming.selectors import stream_spec_get

    with _refresh_lock:
        producer_manager().apply(camera_id, stream_spec_get(camera_id=camera_id))


def producer_ensure(camera_id: str) -> None:
    """Start the camera's producer if its session runs but no producer does (a restart)."""
    if not embedded():
        return
    producer = producer_manager().get(camera_id)
    if producer is None or not producer.is_alive():
        producer_refresh(camera_id)


def producer_wake(camera_id: str) -> None:
    if _manager is not None:
        _manager.wake(camera_id)


def session_changed(camera_id: str, spec: ProducerSpec | None) -> None:
    """After a commit: move the producer (embedded) and tell this camera's viewers."""
    producer_refresh(camera_id)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            control_group(camera_id),
            {
                "type": "stream.session",
                "camera_id": camera_id,
                "spec": spec.as_dict() if spec else None,
            },
        )
    except Exception:  # viewers also reload the session every few seconds
        logger.warning("Could not notify viewers camera=%s", camera_id, exc_info=True)


class StreamWorker:
    """A ``stream_worker`` process: claims running sessions and publishes their frames."""

    def __init__(self, *, redis_url: str, worker_id: str | None = None):
        from streaming.redisbus import RedisPublisherSink

        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.lease_s = settings.STREAMING_WORKER_LEASE_S
        self.sink = RedisPublisherSink(redis_url, settings.STREAMING_REDIS_PREFIX)
        self.manager = ProducerManager(self.sink, max_output_fps=settings.STREAMING_MAX_OUTPUT_FPS)
        self._leases: dict[str, float] = {}

    def _hold(self, spec: ProducerSpec) -> bool:
        from streaming.services import stream_session_lease

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
        from streaming.selectors import stream_spec_list_running

        specs = stream_spec_list_running()
        held = [spec for spec in specs if self._hold(spec)]
        running = {spec.session_id for spec in specs}
        for session_id in set(self._leases) - running:
            self._leases.pop(session_id)
        self.manager.sync(held)
        self.sink.prune()
        return [spec.camera_id for spec in held]

    def run(self, *, stop: threading.Event, max_seconds: float | None = None) -> None:
        from django.db import close_old_connections, connection

        from streaming.services import stream_session_release

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
