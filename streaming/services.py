"""Writes of live monitoring: uploads, their retention, and the stream session per camera."""

import logging
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.accounts.types import RequestUser
from broadcastops.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from broadcastops.notify.services import notify
from streaming import messages as m
from streaming import runtime
from streaming.alarms import AlarmChange
from streaming.camera_ids import camera_id_message, camera_id_valid
from streaming.media import VideoUnreadable, video_probe
from streaming.models import PictureAlarm, StreamSession, Upload, WallLayout
from streaming.selectors import (
    frame_times_read,
    stream_spec_from_session,
    stream_spec_list_running,
)
from streaming.types import ALARM_LOST

logger = logging.getLogger(__name__)

SPEED_MIN, SPEED_MAX = 0.25, 4.0
# Files in the incoming folder older than this belong to no running request any more.
_ORPHAN_AGE_S = 6 * 3600


def uploads_dir() -> Path:
    path = settings.STREAMING_DIR / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def incoming_dir() -> Path:
    path = settings.STREAMING_DIR / "incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def camera_id_check(camera_id: str) -> str:
    if not camera_id_valid(camera_id):
        raise ValidationFailed(
            camera_id_message(),
            code="invalid_camera_id",
            detail={"camera_id": camera_id},
        )
    return camera_id


def upload_create(
    *, camera_id: str, incoming_path: Path, original_name: str, actor: RequestUser | None = None
) -> Upload:
    """Keep a fully received video: check it with OpenCV, move it in place, record it.

    ``incoming_path`` is the file the upload handler streamed to disk. Whatever happens, it
    does not survive this call: it becomes the upload, or it is deleted.
    """
    final_path = None
    try:
        camera_id_check(camera_id)
        try:
            info = video_probe(incoming_path)
        except VideoUnreadable as exc:
            logger.info("Upload refused camera=%s name=%s: %s", camera_id, original_name, exc)
            raise ValidationFailed(
                gettext(
                    "“%(name)s” is not a video we can play: %(reason)s. Export it again as "
                    "MP4 (H.264) and upload that."
                )
                % {"name": original_name, "reason": exc},
                code="unreadable_video",
            ) from exc
        file_name = f"{uuid.uuid4().hex}{incoming_path.suffix.lower()}"
        final_path = uploads_dir() / file_name
        size_bytes = incoming_path.stat().st_size
        os.replace(incoming_path, final_path)
        with transaction.atomic():
            upload = Upload.objects.create(
                camera_id=camera_id,
                file_name=file_name,
                original_name=original_name[:255],
                size_bytes=size_bytes,
                duration_s=info.duration_s,
                fps=info.fps,
                frame_count=info.frame_count,
                width=info.width,
                height=info.height,
                uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            )
    except BaseException:
        # No half-kept upload: neither the received file nor the moved one stays.
        for path in (incoming_path, final_path):
            if path is not None:
                path.unlink(missing_ok=True)
        raise
    logger.info(
        "Upload kept camera=%s upload=%s size_bytes=%s duration_s=%.1f fps=%.2f %sx%s",
        camera_id,
        upload.pk,
        upload.size_bytes,
        upload.duration_s,
        upload.fps,
        upload.width,
        upload.height,
    )
    return upload


def upload_delete(*, upload: Upload) -> None:
    """Delete an upload and its file, unless a running stream plays it."""
    with transaction.atomic():
        deleted, _ = (
            Upload.objects.filter(pk=upload.pk)
            .exclude(sessions__state=StreamSession.State.RUNNING)
            .delete()
        )
    if not deleted:
        raise Conflict(
            gettext("This video is playing on a camera; stop or replace that stream first."),
            code="upload_in_use",
            detail={"upload_id": str(upload.pk)},
        )
    # On POSIX a producer that still has the file open keeps reading it after the unlink.
    upload.path.unlink(missing_ok=True)
    logger.info("Upload deleted camera=%s upload=%s", upload.camera_id, upload.pk)


def upload_prune(*, older_than_hours: int | None = None) -> int:
    """Retention: delete uploads older than the limit that no running stream plays.

    Also removes files that have no row (an upload cut off by a crash). Returns the number
    of uploads deleted.
    """
    hours = (
        settings.STREAMING_UPLOAD_RETENTION_HOURS if older_than_hours is None else older_than_hours
    )
    cutoff = timezone.now() - timedelta(hours=hours)
    candidates = list(
        Upload.objects.filter(created_at__lt=cutoff).exclude(
            sessions__state=StreamSession.State.RUNNING
        )
    )
    deleted = 0
    for upload in candidates:
        try:
            upload_delete(upload=upload)
            deleted += 1
        except Conflict:
            continue  # a stream started on it meanwhile
    known = set(Upload.objects.values_list("file_name", flat=True))
    now = time.time()
    for path in uploads_dir().iterdir():
        if path.name not in known and now - path.stat().st_mtime > _ORPHAN_AGE_S:
            path.unlink(missing_ok=True)
    for path in incoming_dir().iterdir():
        if now - path.stat().st_mtime > _ORPHAN_AGE_S:
            path.unlink(missing_ok=True)
    if deleted:
        logger.info("Upload retention deleted %s uploads older than %s h", deleted, hours)
    return deleted


def _speed_check(speed: float) -> float:
    if not SPEED_MIN <= speed <= SPEED_MAX:
        raise ValidationFailed(
            gettext("Speed must be between %(min)s and %(max)s.")
            % {"min": SPEED_MIN, "max": f"{SPEED_MAX:g}"},
            code="invalid_speed",
            detail={"speed": speed},
        )
    return speed


def _notify(session: StreamSession | None, camera_id: str) -> None:
    spec = stream_spec_from_session(session) if session else None
    transaction.on_commit(lambda: runtime.session_changed(camera_id, spec))


def stream_start(
    *,
    camera_id: str,
    upload: Upload,
    loop: bool = True,
    speed: float = 1.0,
    jpeg_quality: int | None = None,
    max_width: int | None = None,
    start_token: str = "",
    actor: RequestUser | None = None,
) -> StreamSession:
    """Play ``upload`` on ``camera_id`` from its start, replacing any running session.

    The replaced session is marked first and its producer is stopped (its file closed)
    before the new one opens its file; nothing is deleted.
    """
    camera_id_check(camera_id)
    _speed_check(speed)
    quality = settings.STREAMING_JPEG_QUALITY if jpeg_quality is None else jpeg_quality
    if not 1 <= quality <= 100:
        raise ValidationFailed(
            gettext("JPEG quality must be between 1 and 100."), code="invalid_quality"
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            if not Upload.objects.filter(pk=upload.pk).exists():
                raise NotFound(gettext("That video has been deleted; upload it again."))
            replaced = StreamSession.objects.filter(
                camera_id=camera_id, state=StreamSession.State.RUNNING
            ).update(state=StreamSession.State.REPLACED, stopped_at=now)
            session = StreamSession.objects.create(
                camera_id=camera_id,
                upload=upload,
                loop=loop,
                speed=speed,
                jpeg_quality=quality,
                max_width=settings.STREAMING_MAX_WIDTH if max_width is None else max_width,
                anchor_at=now,
                anchor_position_s=0.0,
                start_token=start_token[:64],
                started_by=actor if actor is not None and actor.is_authenticated else None,
            )
            session.upload = upload
            _notify(session, camera_id)
    except IntegrityError as exc:
        # Another start on the same camera committed between our update and insert.
        raise Conflict(
            gettext("Another stream was started on this camera at the same moment; try again."),
            code="stream_start_race",
        ) from exc
    logger.info(
        "Stream started camera=%s session=%s upload=%s loop=%s speed=%s replaced=%s",
        camera_id,
        session.pk,
        upload.pk,
        loop,
        speed,
        replaced,
    )
    return session


def stream_stop(*, camera_id: str, actor: RequestUser | None = None) -> StreamSession:
    """Stop the camera's running session. The upload stays (retention removes it later)."""
    with transaction.atomic():
        session = (
            StreamSession.objects.select_related("upload")
            .filter(camera_id=camera_id, state=StreamSession.State.RUNNING)
            .first()
        )
        if session is None:
            raise NotFound(
                gettext("No stream is running on camera %(camera)s.") % {"camera": camera_id},
                code="no_stream",
                detail={"camera_id": camera_id},
            )
        claimed = StreamSession.objects.filter(
            pk=session.pk, state=StreamSession.State.RUNNING
        ).update(state=StreamSession.State.STOPPED, stopped_at=timezone.now())
        if claimed != 1:
            raise NotFound(
                gettext("No stream is running on camera %(camera)s.") % {"camera": camera_id},
                code="no_stream",
            )
        session.refresh_from_db()
        _notify(None, camera_id)
    logger.info("Stream stopped camera=%s session=%s actor=%s", camera_id, session.pk, actor)
    return session


def stream_update(
    *,
    camera_id: str,
    loop: bool | None = None,
    speed: float | None = None,
    actor: RequestUser | None = None,
) -> StreamSession:
    """Change loop or speed of the running session without restarting playback.

    The clock is re-anchored at the current position, so the picture continues from where
    it is at the new speed.
    """
    if speed is not None:
        _speed_check(speed)
    with transaction.atomic():
        session = (
            StreamSession.objects.select_related("upload")
            .filter(camera_id=camera_id, state=StreamSession.State.RUNNING)
            .first()
        )
        if session is None or session.upload is None:
            raise NotFound(
                gettext("No stream is running on camera %(camera)s.") % {"camera": camera_id},
                code="no_stream",
                detail={"camera_id": camera_id},
            )
        spec = stream_spec_from_session(session)
        assert spec is not None  # running, with its upload
        now = timezone.now()
        position_s, _ended = spec.position_at(now.timestamp())
        session.anchor_at = now
        session.anchor_position_s = position_s
        if loop is not None:
            session.loop = loop
        if speed is not None:
            session.speed = speed
        session.save(update_fields=["anchor_at", "anchor_position_s", "loop", "speed"])
        _notify(session, camera_id)
    logger.info(
        "Stream updated camera=%s session=%s loop=%s speed=%s position_s=%.2f",
        camera_id,
        session.pk,
        session.loop,
        session.speed,
        position_s,
    )
    return session


def stream_ensure(
    *,
    camera_id: str,
    upload: Upload | None,
    loop: bool | None,
    speed: float | None,
    start_token: str,
    actor: RequestUser,
) -> StreamSession | None:
    """The old frontend's MJPEG URL: join the running stream, or start what it names.

    ``start_token`` is its ``t`` parameter: a token not seen before asks for a new stream
    from the start; the same token again (a reload, a reconnect) joins. Without ``t`` the
    running stream is joined, and started only when none plays the named upload. Changing
    anything needs an Operator; a Viewer only ever joins. Returns None when nothing runs.
    """
    camera_id_check(camera_id)
    session = (
        StreamSession.objects.select_related("upload")
        .filter(camera_id=camera_id, state=StreamSession.State.RUNNING)
        .first()
    )
    target = upload or (session.upload if session else None)
    wants_new = bool(start_token) and (session is None or session.start_token != start_token)
    wants_other = upload is not None and (session is None or session.upload_id != upload.pk)
    if target is not None and (wants_new or wants_other):
        _operator_check(actor)
        return stream_start(
            camera_id=camera_id,
            upload=target,
            loop=True if loop is None else loop,
            speed=1.0 if speed is None else speed,
            start_token=start_token,
            actor=actor,
        )
    if session is None:
        return None
    changed_loop = loop is not None and loop != session.loop
    changed_speed = speed is not None and abs(speed - session.speed) > 1e-9
    if (changed_loop or changed_speed) and user_has_role(actor, Role.OPERATOR):
        return stream_update(camera_id=camera_id, loop=loop, speed=speed, actor=actor)
    return session


def _operator_check(actor: RequestUser | None) -> None:
    if actor is None or not user_has_role(actor, Role.OPERATOR):
        raise PermissionDenied(
            gettext("Only an Operator can start a stream; ask one, or watch the running stream."),
            code="operator_required",
        )


def stream_session_lease(*, session_id: str, worker_id: str, lease_s: float) -> bool:
    """Claim or renew a running session for a stream worker; False when another holds it."""
    now = timezone.now()
    claimed = (
        StreamSession.objects.filter(pk=session_id, state=StreamSession.State.RUNNING)
        .filter(Q(worker_id="") | Q(worker_id=worker_id) | Q(lease_until__lt=now))
        .update(worker_id=worker_id, lease_until=now + timedelta(seconds=lease_s))
    )
    if claimed != 1:
        logger.debug("Lease not taken session=%s worker=%s", session_id, worker_id)
    return claimed == 1


def stream_session_release(*, session_id: str, worker_id: str) -> None:
    """A stopping worker hands its session back at once instead of waiting out the lease."""
    StreamSession.objects.filter(pk=session_id, worker_id=worker_id).update(
        worker_id="", lease_until=None
    )


# -- picture alarms --------------------------------------------------------------------------

_ALARM_TEXT = {
    PictureAlarm.Kind.FROZEN: (m.ALARM_FROZEN_TEXT, "STREAMING_ALARM_FROZEN_S"),
    PictureAlarm.Kind.BLACK: (m.ALARM_BLACK_TEXT, "STREAMING_ALARM_BLACK_S"),
    PictureAlarm.Kind.LOST: (m.ALARM_LOST_TEXT, "STREAMING_ALARM_LOST_S"),
}


def picture_alarm_change(change: AlarmChange) -> PictureAlarm | None:
    """Record an alarm a producer (or the lost-feed monitor) opened or resolved.

    Opening: one row per open alarm of a camera and kind (a constraint); one already open
    is left as it is. Resolving: a conditional update of the open row; none open, nothing
    happens. Each real change goes through ``notify`` once (its dedup key names the row and
    the direction; notify's throttle and flapping report still apply per camera) and,
    after the commit, to the camera's viewers. Returns the row changed, or None.
    """
    kind = PictureAlarm.Kind(change.kind)
    at = datetime.fromtimestamp(change.at, tz=UTC)
    with transaction.atomic():
        if change.opened:
            if PictureAlarm.objects.filter(
                camera_id=change.camera_id, kind=kind, resolved_at__isnull=True
            ).exists():
                return None
            try:
                with transaction.atomic():
                    alarm = PictureAlarm.objects.create(
                        camera_id=change.camera_id,
                        kind=kind,
                        session_id=change.session_id or None,
                        opened_at=at,
                    )
            except IntegrityError:  # another process opened it at the same moment
                return None
        else:
            found = (
                PictureAlarm.objects.select_for_update()
                .filter(camera_id=change.camera_id, kind=kind, resolved_at__isnull=True)
                .first()
            )
            if found is None:
                return None
            alarm = found
            claimed = PictureAlarm.objects.filter(pk=alarm.pk, resolved_at__isnull=True).update(
                resolved_at=max(at, alarm.opened_at)
            )
            if claimed != 1:
                return None
            alarm.refresh_from_db()
        _alarm_notify(alarm)
        open_kinds = sorted(
            PictureAlarm.objects.filter(
                camera_id=change.camera_id, resolved_at__isnull=True
            ).values_list("kind", flat=True)
        )
        camera_id = change.camera_id
        transaction.on_commit(lambda: runtime.alarms_changed(camera_id, open_kinds))
    logger.warning(
        "Picture alarm %s camera=%s kind=%s alarm=%s",
        "opened" if alarm.is_open else "resolved",
        alarm.camera_id,
        alarm.kind,
        alarm.pk,
    )
    return alarm


def stream_feeds_lost_sweep(*, now: float | None = None) -> int:
    """Scaled mode (beat): lost feeds judged from the frame times the stream workers write to
    Redis, for every running session, whoever holds it or if nobody does.

    Each worker judges its own cameras (``streaming.worker``); the cameras of a worker that
    died are judged here, while its lease still runs and after, whether another worker runs
    or none does: every ``STREAMING_ALARM_LOST_S`` (the beat schedule). Opening and resolving
    go through ``picture_alarm_change`` (one open alarm per camera and kind, one notification
    each way), so a judgement made twice is made once. Returns the alarms changed.
    """
    if not settings.STREAMING_REDIS_URL or settings.STREAMING_ALARM_SAMPLE_FPS <= 0:
        return 0  # embedded: the web process's producers judge; alarms off: nothing to judge
    now = time.time() if now is None else now
    specs = stream_spec_list_running()
    times = frame_times_read(
        settings.STREAMING_REDIS_URL,
        settings.STREAMING_REDIS_PREFIX,
        [spec.camera_id for spec in specs],
    )
    if times is None:
        return 0  # Redis did not answer: no evidence either way
    open_lost = dict(
        PictureAlarm.objects.filter(
            kind=PictureAlarm.Kind.LOST, resolved_at__isnull=True
        ).values_list("camera_id", "session_id")
    )
    changes: list[AlarmChange] = []
    for spec in specs:
        last = max(times.get(spec.camera_id, 0.0), spec.anchor_at)
        lost = now - last >= settings.STREAMING_ALARM_LOST_S and not spec.position_at(now)[1]
        if lost != (spec.camera_id in open_lost):
            changes.append(AlarmChange(spec.camera_id, spec.session_id, ALARM_LOST, lost, now))
    running = {spec.camera_id for spec in specs}
    for camera_id, session_id in open_lost.items():
        if camera_id not in running:  # stopped while its worker was away
            changes.append(AlarmChange(camera_id, str(session_id or ""), ALARM_LOST, False, now))
    return sum(1 for change in changes if picture_alarm_change(change) is not None)


def _alarm_notify(alarm: PictureAlarm) -> None:
    kind_message = m.ALARM_KIND[alarm.kind]()
    facts = {m.FACT_CAMERA(): alarm.camera_id, m.FACT_SESSION(): str(alarm.session_id or "-")}
    if alarm.is_open:
        text, setting = _ALARM_TEXT[PictureAlarm.Kind(alarm.kind)]
        notify(
            event=f"streaming.alarm.{alarm.kind}",
            subject=f"camera:{alarm.camera_id}",
            severity="critical" if alarm.kind == PictureAlarm.Kind.LOST else "warning",
            title=m.ALARM_OPENED_TITLE(alarm=kind_message, camera=alarm.camera_id),
            text=text(seconds=f"{getattr(settings, setting):g}"),
            facts=facts,
            dedup_key=f"streaming.alarm:{alarm.pk}:opened",
        )
        return
    assert alarm.resolved_at is not None
    notify(
        event=f"streaming.alarm.{alarm.kind}.resolved",
        subject=f"camera:{alarm.camera_id}",
        severity="resolved",
        title=m.ALARM_RESOLVED_TITLE(alarm=kind_message, camera=alarm.camera_id),
        text=m.ALARM_RESOLVED_TEXT(
            seconds=f"{(alarm.resolved_at - alarm.opened_at).total_seconds():.0f}"
        ),
        facts=facts,
        dedup_key=f"streaming.alarm:{alarm.pk}:resolved",
    )


# -- the camera wall --------------------------------------------------------------------------

WALL_COLUMNS_MAX = 8


def wall_layout_save(*, user: RequestUser, columns: int, cameras: list[str]) -> WallLayout:
    """Keep a user's wall layout (columns, and which cameras in which order; empty: all)."""
    if not 1 <= columns <= WALL_COLUMNS_MAX:
        raise ValidationFailed(
            gettext("A wall has 1 to %(max)s columns.") % {"max": WALL_COLUMNS_MAX},
            code="invalid_columns",
        )
    if len(cameras) > settings.STREAMING_WALL_MAX_TILES:
        raise ValidationFailed(
            gettext("A wall shows at most %(max)s cameras.")
            % {"max": settings.STREAMING_WALL_MAX_TILES},
            code="too_many_cameras",
        )
    for camera_id in cameras:
        camera_id_check(camera_id)
    unique = list(dict.fromkeys(cameras))
    layout, _created = WallLayout.objects.update_or_create(
        user_id=cast(int, user.pk), defaults={"columns": columns, "cameras": unique}
    )
    return layout
