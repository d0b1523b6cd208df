"""Where producers run in embedded mode: threads of the web process, joined to its hubs.

Services call ``session_changed`` after a commit; it tells the viewers through the channel
layer (a control message, never a frame) and, in embedded mode, makes this process's
producer match the database. In scaled mode producers run in ``stream_worker`` processes
(``streaming.worker``) instead.
"""

import logging
import sys
import threading
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from streaming.alarms import AlarmChange, AlarmReporter, AlarmThresholds
from streaming.frames import Frame
from streaming.producer import ProducerManager
from streaming.selectors import stream_spec_get
from streaming.types import Demand, FrameReceiver, ProducerSpec, demand_merge

logger = logging.getLogger(__name__)

# How often a thread holding the GIL lets another one have it (Python's default: 5 ms).
_SWITCH_INTERVAL_S = 0.0002

_manager: ProducerManager | None = None
_manager_lock = threading.Lock()
# Reading the database and applying the result happen under one lock, so that a refresh
# that read the state before a commit can never overwrite one that read it after.
_refresh_lock = threading.Lock()


class LocalBus:
    """Connects producer threads to the hubs of this process (one per event loop)."""

    def __init__(self) -> None:
        self._hubs: list[FrameReceiver] = []
        self._lock = threading.Lock()

    def register(self, hub: FrameReceiver) -> None:
        with self._lock:
            self._hubs = [h for h in self._hubs if not h.loop.is_closed()] + [hub]

    def demand(self, camera_id: str) -> Demand:
        demand: Demand = {}
        for hub in self._hubs:
            demand = demand_merge(demand, hub.demand_snapshot.get(camera_id, {}))
        return demand

    def publish(self, frame: Frame) -> None:
        for hub in self._hubs:
            if frame.camera_id not in hub.demand_snapshot:
                continue
            try:
                hub.loop.call_soon_threadsafe(hub.deliver, frame)
            except RuntimeError:  # that loop has closed (a finished test, a shutdown)
                with self._lock:
                    self._hubs = [h for h in self._hubs if h is not hub]


BUS = LocalBus()


def embedded() -> bool:
    return not settings.STREAMING_REDIS_URL


def control_group(camera_id: str) -> str:
    return f"streaming.camera.{camera_id}"


def producer_manager() -> ProducerManager:
    """This process's producers (embedded mode), publishing to its hubs."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = ProducerManager(
                BUS,
                max_output_fps=settings.STREAMING_MAX_OUTPUT_FPS,
                thresholds=AlarmThresholds.from_settings(),
                alarms=alarm_reporter(),
                restart=producer_restart,
            )
            # A producer thread takes the GIL back three times a frame (after decoding, after
            # encoding, after sleeping); with the default 5 ms switch interval a busy event
            # loop made each of those wait up to 5 ms, and at 300 viewers the producer fell
            # to 15 frames/s with the core only 80 % busy (py-spy, benchmarks/results).
            sys.setswitchinterval(_SWITCH_INTERVAL_S)
        thresholds = AlarmThresholds.from_settings()
        if thresholds != _manager.thresholds and (thresholds.sample_fps > 0 or _manager.alarms):
            # Settings changed (tests do): alarms on, off, or judged differently from now on.
            _manager.configure(thresholds=thresholds, alarms=alarm_reporter())
        return _manager


# What records an alarm change: ``services.picture_alarm_change``, set by the app's ready()
# (services import this module, so this module cannot import them).
_alarm_handler: Callable[[AlarmChange], object] | None = None


def alarm_handler_set(handler: Callable[[AlarmChange], object]) -> None:
    global _alarm_handler
    _alarm_handler = handler


def alarm_record(change: AlarmChange) -> None:
    """Record one alarm change (the reporter's thread): services write, notify and tell."""
    if _alarm_handler is None:
        raise RuntimeError("streaming's ready() has not set the alarm handler")
    try:
        _alarm_handler(change)
    finally:
        # Alarms are rare: a connection per change, none held by this thread in between
        # (a held one kept PostgreSQL's test database from being dropped).
        connection.close()


def producer_restart(camera_id: str) -> None:
    """The lost-feed monitor's restart of a dead producer, from its own thread."""
    try:
        producer_ensure(camera_id)
    finally:
        connection.close()


def alarm_reporter() -> AlarmReporter | None:
    """The reporter of a process whose producers judge picture alarms (None: alarms off)."""
    if settings.STREAMING_ALARM_SAMPLE_FPS <= 0:
        return None
    return AlarmReporter(alarm_record)


def alarms_changed(camera_id: str, alarms: list[str]) -> None:
    """After a commit: the camera's open alarms, to its viewers in every web process."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            control_group(camera_id),
            {"type": "stream.alarms", "camera_id": camera_id, "alarms": alarms},
        )
    except Exception:  # viewers also reload the alarms every few seconds
        logger.warning("Could not tell viewers of alarms camera=%s", camera_id, exc_info=True)


def producer_refresh(camera_id: str) -> None:
    """Make the camera's producer in this process match the database (embedded mode)."""
    if not embedded():
        return
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
