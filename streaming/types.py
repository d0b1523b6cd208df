"""What the modules of live monitoring share: value types, the interfaces between the
producers and the hubs, this process's token and its table of feed health.

It imports nothing of ``streaming`` but ``frames``, and no OpenCV, so a read (a selector, the
health check) or the Redis bus can use a ``ProducerSpec`` without loading the decoder, and the
modules above it import each other in one direction only: frames, types <- media, models,
producer, selectors <- runtime <- services, redisbus <- hub, worker <- api, views, consumers.
"""

import asyncio
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from streaming.frames import Frame

# This process among the web processes (the viewer counts in Redis are kept per process).
PROCESS_TOKEN = f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class ProducerSpec:
    """Everything a producer needs, so that it never touches the database."""

    session_id: str
    camera_id: str
    upload_id: str
    path: str
    fps: float
    frame_count: int
    width: int
    height: int
    loop: bool
    speed: float
    anchor_at: float
    anchor_position_s: float
    jpeg_quality: int
    max_width: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    def position_at(self, now: float) -> tuple[float, bool]:
        """The playback position at wall time ``now``, and whether playback has ended."""
        position = self.anchor_position_s + max(0.0, now - self.anchor_at) * self.speed
        if self.loop:
            return position % self.duration_s, False
        last = (self.frame_count - 1) / self.fps
        if position >= last:
            return last, True
        return position, False

    def native_width(self) -> int:
        if self.max_width and self.max_width < self.width:
            return self.max_width
        return self.width

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# The picture alarms (``streaming.alarms``; ``PictureAlarm.Kind`` in the database).
ALARM_FROZEN = "frozen"
ALARM_BLACK = "black"
ALARM_LOST = "lost"

# What somebody watches of a camera: rendition width (0 is the native size) -> the highest
# frame rate anyone watches it at (0: the source's own rate). A rendition is encoded at that
# rate only; the source frames in between are decoded (``grab()``) but never converted.
Demand = Mapping[int, float]


def demand_merge(first: Demand, second: Demand) -> dict[int, float]:
    """Both demands: each width at the higher of the two rates (0, the full rate, wins)."""
    merged = dict(first)
    for width, fps in second.items():
        known = merged.get(width)
        merged[width] = fps if known is None else (0.0 if not known or not fps else max(known, fps))
    return merged


class FrameSink(Protocol):
    """Where a producer hands its frames: this process's hubs, or Redis pub/sub."""

    def demand(self, camera_id: str) -> Demand:
        """The renditions somebody watches now, each with its frame rate."""
        ...

    def publish(self, frame: Frame) -> None:
        """Hand one encoded frame to the viewers."""
        ...


class FrameReceiver(Protocol):
    """A hub as the producer threads of its process see it (``runtime.LocalBus``)."""

    loop: asyncio.AbstractEventLoop
    # Read by producer threads without a lock: replaced whole, never mutated.
    demand_snapshot: dict[str, Demand]

    def deliver(self, frame: Frame) -> None: ...


class WatchedFeed(Protocol):
    """One camera's feed in a hub as its frame source sees it (``redisbus.RedisSource``)."""

    camera_id: str
    lagging: bool
    global_viewers: int | None

    @property
    def viewer_count(self) -> int: ...

    def demand(self) -> Demand: ...

    def deliver(self, frame: Frame) -> None: ...


class FeedHealth(TypedDict):
    """The newest view of one watched camera's feed in this process."""

    mode: str
    session_id: str | None
    viewers: int
    last_frame_age_s: float | None
    lagging: bool
    checked_at: float


# What the health check reads: camera id -> the newest view of that camera's feed. Written by
# the hub's status loop of this process.
FEED_HEALTH: dict[str, FeedHealth] = {}
