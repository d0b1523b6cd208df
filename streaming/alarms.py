"""Picture alarms, judged where the frames are decoded: frozen, black and lost feeds.

A producer decodes its camera's frames anyway while somebody watches, and samples a few frames
a second while nobody does (decoding forward with ``grab()``, converting only the samples,
encoding nothing). Each sample goes to the camera's ``PictureWatch``: a small grey copy
(``THUMB_SIZE``) is compared with the previous sample's, and its mean is the luminance. A
picture that has not changed by more than ``frozen_diff`` grey levels for ``frozen_s`` is
frozen; one darker than ``black_luma`` for ``black_s`` is black (a black picture is not also
reported frozen). The feed is lost when the producer has decoded no frame for ``lost_s``: that
is judged outside the producer (``LostWatch``, in the producer manager's monitor), since a
dead producer judges nothing.

Nothing here touches the database: a change is an ``AlarmChange`` handed to a callback
(``streaming.services.picture_alarm_change`` through the manager's reporter thread), which
records it, notifies once and tells the viewers. Every judgement takes ``now`` from its
caller, so tests drive the clock.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from streaming.types import ALARM_BLACK, ALARM_FROZEN, ALARM_LOST

logger = logging.getLogger(__name__)

# 64x36 keeps a 16:9 picture's layout (a moving bar of 1/32 of the width still changes ~2 % of
# the pixels by a lot) while averaging away the encoder's noise. Every 4th pixel of each 4th
# row is averaged (25 of a 1280x720 frame's 400 per cell): INTER_AREA over the whole frame
# cost 0.70 ms a sample, over the strided view a tenth of that (benchmarks/streaming_wall.py).
THUMB_SIZE = (64, 36)
_STRIDE = 4


@dataclass(frozen=True)
class AlarmThresholds:
    frozen_s: float
    black_s: float
    lost_s: float
    frozen_diff: float
    black_luma: float
    sample_fps: float

    @classmethod
    def from_settings(cls) -> "AlarmThresholds":
        from django.conf import settings

        return cls(
            frozen_s=settings.STREAMING_ALARM_FROZEN_S,
            black_s=settings.STREAMING_ALARM_BLACK_S,
            lost_s=settings.STREAMING_ALARM_LOST_S,
            frozen_diff=settings.STREAMING_ALARM_FROZEN_DIFF,
            black_luma=settings.STREAMING_ALARM_BLACK_LUMA,
            sample_fps=settings.STREAMING_ALARM_SAMPLE_FPS,
        )


@dataclass(frozen=True)
class AlarmChange:
    """An alarm of one camera opened (``opened``) or resolved, at ``at`` (epoch seconds)."""

    camera_id: str
    session_id: str
    kind: str
    opened: bool
    at: float


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The small grey copy the judgements compare (float32, 0-255)."""
    if image.shape[1] >= THUMB_SIZE[0] * _STRIDE and image.shape[0] >= THUMB_SIZE[1] * _STRIDE:
        image = image[::_STRIDE, ::_STRIDE]
    small = cv2.resize(image, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return small.astype(np.float32)


class PictureWatch:
    """Frozen and black judgement of one camera's session, fed sampled frames."""

    def __init__(self, *, camera_id: str, session_id: str, thresholds: AlarmThresholds):
        self.camera_id = camera_id
        self.session_id = session_id
        self.thresholds = thresholds
        self.interval_s = 1.0 / thresholds.sample_fps if thresholds.sample_fps > 0 else 0.0
        self.open: set[str] = set()
        self.samples = 0
        self._previous: np.ndarray | None = None
        self._changed_at = 0.0
        self._dark_since: float | None = None
        self._next_at = 0.0
        self._last_at = 0.0

    def due(self, now: float) -> bool:
        """Whether a frame decoded now should be sampled (at most ``sample_fps`` a second)."""
        # A quarter of an interval early counts: a producer waking for the sample may be early.
        return now >= self._next_at - self.interval_s / 4

    def observe(self, image: np.ndarray, now: float) -> list[AlarmChange]:
        """Judge one decoded frame; the alarms it opens or resolves."""
        self._next_at = max(self._next_at + self.interval_s, now + self.interval_s / 2)
        small = thumbnail(image)
        first = self._previous is None
        if not first and now - self._last_at > max(1.0, 3 * self.interval_s):
            # A gap in the samples (a producer restarted): what it did not see is no evidence
            # of a still or dark picture; both start counting again from here.
            self._previous = None
            self._dark_since = None
        self._last_at = now
        previous = self._previous
        changed = (
            previous is None
            or float(np.mean(np.abs(small - previous))) > self.thresholds.frozen_diff
        )
        self._previous = small
        if changed:
            self._changed_at = now
        dark = float(small.mean()) < self.thresholds.black_luma
        if not dark:
            self._dark_since = None
        elif self._dark_since is None:
            self._dark_since = now
        self.samples += 1
        black = self._dark_since is not None and now - self._dark_since >= self.thresholds.black_s
        frozen = not dark and now - self._changed_at >= self.thresholds.frozen_s
        changes = self._set(ALARM_BLACK, black, now, announce_clear=first)
        changes += self._set(ALARM_FROZEN, frozen, now, announce_clear=first)
        return changes

    def _set(
        self, kind: str, active: bool, now: float, *, announce_clear: bool
    ) -> list[AlarmChange]:
        # The first judgement of a session also says "clear": an alarm left open by a process
        # that ended (a restart, a worker replaced) is resolved instead of staying open forever.
        if active == (kind in self.open) and not (announce_clear and not active):
            return []
        if active:
            self.open.add(kind)
        else:
            self.open.discard(kind)
        return [AlarmChange(self.camera_id, self.session_id, kind, active, now)]

    def close(self, now: float) -> list[AlarmChange]:
        """The session ended: its open alarms no longer apply."""
        changes = [AlarmChange(self.camera_id, self.session_id, k, False, now) for k in self.open]
        self.open.clear()
        return changes


class LostWatch:
    """Lost feed: the producers of one process, judged by the time of their newest frame."""

    def __init__(self, thresholds: AlarmThresholds):
        self.thresholds = thresholds
        self.open: dict[str, str] = {}  # camera -> session of its open lost-feed alarm
        self._cleared: set[tuple[str, str]] = set()

    def judge(
        self, *, camera_id: str, session_id: str, last_frame_at: float, now: float
    ) -> list[AlarmChange]:
        lost = now - last_frame_at >= self.thresholds.lost_s
        if lost and camera_id not in self.open:
            self.open[camera_id] = session_id
            return [AlarmChange(camera_id, session_id, ALARM_LOST, True, now)]
        if not lost and (camera_id in self.open or (camera_id, session_id) not in self._cleared):
            # Once per session even without an open alarm here: one left by an earlier
            # process is resolved.
            self.open.pop(camera_id, None)
            self._cleared.add((camera_id, session_id))
            return [AlarmChange(camera_id, session_id, ALARM_LOST, False, now)]
        return []

    def forget(self, camera_id: str, now: float) -> list[AlarmChange]:
        """The camera's session stopped: a lost feed is no alarm any more."""
        self._cleared = {key for key in self._cleared if key[0] != camera_id}
        session_id = self.open.pop(camera_id, None)
        if session_id is None:
            return []
        return [AlarmChange(camera_id, session_id, ALARM_LOST, False, now)]


class AlarmReporter:
    """Hands alarm changes from producer threads to ``handle`` on a thread of its own.

    ``handle`` writes to the database and notifies; a producer must never wait for that. The
    queue is bounded: a flood (a database down for minutes) drops the newest changes with a
    log line rather than growing without end; the first judgement after a restart heals it.
    """

    def __init__(self, handle: Callable[[AlarmChange], None], *, capacity: int = 1000):
        self._handle = handle
        self._queue: queue.Queue[AlarmChange | None] = queue.Queue(capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def report(self, changes: list[AlarmChange]) -> None:
        for change in changes:
            logger.info(
                "Picture alarm %s camera=%s session=%s kind=%s",
                "opened" if change.opened else "cleared",
                change.camera_id,
                change.session_id,
                change.kind,
            )
            try:
                self._queue.put_nowait(change)
            except queue.Full:
                logger.error("Picture alarm dropped (queue full) camera=%s", change.camera_id)
        if changes:
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="picture-alarms", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while (change := self._queue.get()) is not None:
            for attempt in range(3):
                try:
                    self._handle(change)
                    break
                except Exception:
                    logger.warning(
                        "Recording a picture alarm failed camera=%s kind=%s (attempt %s)",
                        change.camera_id,
                        change.kind,
                        attempt + 1,
                        exc_info=True,
                    )
                    time.sleep(0.5 * (attempt + 1))
            self._queue.task_done()

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every reported change is handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True
