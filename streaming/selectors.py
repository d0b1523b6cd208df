"""Reads of live monitoring: uploads, sessions, the producer spec, the feeds' health."""

import logging
import time
import uuid
from typing import TypedDict, cast

import redis
from django.conf import settings
from django.db.models import QuerySet

from broadcastops.accounts.types import RequestUser
from streaming.models import PictureAlarm, StreamSession, Upload, WallLayout
from streaming.types import FEED_HEALTH, FeedHealth, ProducerSpec

logger = logging.getLogger(__name__)


def upload_list(*, camera_id: str | None = None) -> QuerySet[Upload]:
    uploads = Upload.objects.all()
    if camera_id:
        uploads = uploads.filter(camera_id=camera_id)
    return uploads


def upload_get(*, upload_id: uuid.UUID | str) -> Upload | None:
    return Upload.objects.filter(pk=upload_id).first()


def upload_get_by_reference(*, reference: str) -> Upload | None:
    """The upload that the old frontend's ``video_path`` names, or None.

    Accepts the upload id, the generated file name, or the full path the server returned;
    each is only ever compared with stored rows, so no request can name another file.
    """
    reference = reference.strip()
    if not reference:
        return None
    name = reference.replace("\\", "/").rsplit("/", 1)[-1]
    upload = Upload.objects.filter(file_name=name).first()
    if upload is not None:
        if "/" in reference.replace("\\", "/") and reference != str(upload.path):
            return None  # a path that merely ends in a known name
        return upload
    try:
        return Upload.objects.filter(pk=uuid.UUID(reference)).first()
    except ValueError:  # neither a known file name nor an upload id
        return None


def stream_session_get_active(*, camera_id: str) -> StreamSession | None:
    return (
        StreamSession.objects.select_related("upload")
        .filter(camera_id=camera_id, state=StreamSession.State.RUNNING)
        .first()
    )


def stream_session_list(
    *, camera_id: str | None = None, state: str | None = None
) -> QuerySet[StreamSession]:
    sessions = StreamSession.objects.select_related("upload")
    if camera_id:
        sessions = sessions.filter(camera_id=camera_id)
    if state:
        sessions = sessions.filter(state=state)
    return sessions


def stream_spec_from_session(session: StreamSession) -> ProducerSpec | None:
    upload = session.upload
    if upload is None or session.state != StreamSession.State.RUNNING:
        return None
    return ProducerSpec(
        session_id=str(session.pk),
        camera_id=session.camera_id,
        upload_id=str(upload.pk),
        path=str(upload.path),
        fps=upload.fps,
        frame_count=upload.frame_count,
        width=upload.width,
        height=upload.height,
        loop=session.loop,
        speed=session.speed,
        anchor_at=session.anchor_at.timestamp(),
        anchor_position_s=session.anchor_position_s,
        jpeg_quality=session.jpeg_quality,
        max_width=session.max_width,
    )


def stream_spec_get(*, camera_id: str) -> ProducerSpec | None:
    session = stream_session_get_active(camera_id=camera_id)
    return stream_spec_from_session(session) if session else None


def stream_spec_list_running() -> list[ProducerSpec]:
    sessions = StreamSession.objects.select_related("upload").filter(
        state=StreamSession.State.RUNNING, upload__isnull=False
    )
    return [spec for spec in map(stream_spec_from_session, sessions) if spec]


class FeedHealthReport(TypedDict):
    cameras: dict[str, FeedHealth]
    lagging: list[str]


def feed_health() -> FeedHealthReport:
    """What this web process sees of each watched camera's feed (for /healthz)."""
    now = time.time()
    cameras = {
        camera_id: info
        for camera_id, info in list(FEED_HEALTH.items())
        if now - info["checked_at"] < 30
    }
    return {"cameras": cameras, "lagging": sorted(c for c, i in cameras.items() if i["lagging"])}


def camera_id_list() -> list[str]:
    """Cameras the console knows: those with an upload or a session."""
    cameras = set(Upload.objects.values_list("camera_id", flat=True).distinct())
    cameras |= set(StreamSession.objects.values_list("camera_id", flat=True).distinct())
    return sorted(cameras)


def picture_alarm_open_kinds(*, camera_id: str) -> list[str]:
    return sorted(
        PictureAlarm.objects.filter(camera_id=camera_id, resolved_at__isnull=True).values_list(
            "kind", flat=True
        )
    )


def camera_feed_get(*, camera_id: str) -> tuple[ProducerSpec | None, list[str]]:
    """What a hub's feed shows of a camera: its running session's spec and its open alarms."""
    return stream_spec_get(camera_id=camera_id), picture_alarm_open_kinds(camera_id=camera_id)


def picture_alarm_list(
    *, camera_id: str | None = None, open_only: bool = False
) -> QuerySet[PictureAlarm]:
    alarms = PictureAlarm.objects.all()
    if camera_id:
        alarms = alarms.filter(camera_id=camera_id)
    if open_only:
        alarms = alarms.filter(resolved_at__isnull=True)
    return alarms


def running_camera_list() -> list[str]:
    """Cameras with a running stream, sorted."""
    return sorted(
        StreamSession.objects.filter(state=StreamSession.State.RUNNING).values_list(
            "camera_id", flat=True
        )
    )


class WallLayoutView(TypedDict):
    columns: int
    cameras: list[str]


class WallView(TypedDict):
    layout: WallLayoutView
    running: list[str]
    tiles: list[str]
    alarms: dict[str, list[str]]
    tile_width: int
    tile_fps: float
    websocket_path: str


def wall_get(*, user: RequestUser) -> WallView:
    """A user's wall: the layout (4 columns of every running camera by default), the running
    cameras, the tiles it shows in order and each camera's open alarms. Three queries."""
    layout = WallLayout.objects.filter(user_id=cast(int, user.pk)).first()
    chosen: list[str] = list(layout.cameras) if layout else []
    running = running_camera_list()
    alarms: dict[str, list[str]] = {}
    for camera_id, kind in PictureAlarm.objects.filter(resolved_at__isnull=True).values_list(
        "camera_id", "kind"
    ):
        alarms.setdefault(camera_id, []).append(kind)
    return {
        "layout": {"columns": layout.columns if layout else 4, "cameras": chosen},
        "running": running,
        "tiles": chosen or running[: settings.STREAMING_WALL_MAX_TILES],
        "alarms": alarms,
        "tile_width": settings.STREAMING_WALL_WIDTH,
        "tile_fps": settings.STREAMING_WALL_FPS,
        "websocket_path": "/ws/live-monitoring-wall/",
    }


def frame_times_key(prefix: str) -> str:
    return f"{prefix}:frame-times"


def frame_times_read(url: str, prefix: str, cameras: list[str]) -> dict[str, float] | None:
    """When each camera's stream worker last decoded a frame (None: Redis did not answer)."""
    if not cameras:
        return {}
    client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        values = cast("list[bytes | None]", client.hmget(frame_times_key(prefix), cameras))
    except redis.RedisError as exc:
        logger.warning("Redis frame times read failed: %s", exc)
        return None
    finally:
        client.close()
    return {c: float(v) for c, v in zip(cameras, values, strict=True) if v is not None}
