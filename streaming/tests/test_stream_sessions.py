"""Stream sessions: start, replace, stop, playback changes, retention, and the old URLs."""

import os
import time
from datetime import timedelta

import cv2
import numpy as np
import pytest
from django.test import AsyncClient
from django.utils import timezone

from broadcastops.errors import Conflict, PermissionDenied, ValidationFailed
from streaming import selectors, services
from streaming.models import StreamSession, Upload

pytestmark = pytest.mark.django_db(transaction=True)


def _upload(path, camera_id="cam-1") -> Upload:
    return services.upload_create(
        camera_id=camera_id, incoming_path=path, original_name=path.name, actor=None
    )


def test_start_replaces_the_running_session_of_the_camera(make_clip, operator):
    one = _upload(make_clip("one.mp4"))
    two = _upload(make_clip("two.mp4"))
    first = services.stream_start(camera_id="cam-1", upload=one, actor=operator)

    second = services.stream_start(camera_id="cam-1", upload=two, speed=2.0, actor=operator)

    first.refresh_from_db()
    assert first.state == StreamSession.State.REPLACED and first.stopped_at is not None
    assert StreamSession.objects.filter(state="running").get() == second
    assert selectors.stream_spec_get(camera_id="cam-1").upload_id == str(two.pk)


def test_speed_outside_a_quarter_to_four_is_refused(make_clip):
    upload = _upload(make_clip())
    with pytest.raises(ValidationFailed):
        services.stream_start(camera_id="cam-1", upload=upload, speed=8)
    assert StreamSession.objects.count() == 0


def test_changing_speed_continues_from_the_current_position(make_clip):
    upload = _upload(make_clip(frames=300, fps=30.0))
    session = services.stream_start(camera_id="cam-1", upload=upload)
    StreamSession.objects.filter(pk=session.pk).update(
        anchor_at=timezone.now() - timedelta(seconds=4)
    )

    services.stream_update(camera_id="cam-1", speed=2.0)

    spec = selectors.stream_spec_get(camera_id="cam-1")
    position, _ = spec.position_at(time.time())
    assert position == pytest.approx(4.0, abs=0.2)
    later, _ = spec.position_at(time.time() + 1)
    assert later - position == pytest.approx(2.0, abs=0.05)


def test_an_upload_playing_on_a_camera_cannot_be_deleted(make_clip):
    upload = _upload(make_clip())
    services.stream_start(camera_id="cam-1", upload=upload)

    with pytest.raises(Conflict):
        services.upload_delete(upload=upload)
    assert upload.path.exists()


def test_retention_removes_old_unused_uploads_and_spares_playing_ones(make_clip, settings):
    playing = _upload(make_clip("playing.mp4"))
    unused = _upload(make_clip("unused.mp4"))
    fresh = _upload(make_clip("fresh.mp4"))
    services.stream_start(camera_id="cam-1", upload=playing)
    old = timezone.now() - timedelta(hours=100)
    Upload.objects.filter(pk__in=[playing.pk, unused.pk]).update(created_at=old)
    orphan = services.incoming_dir() / "cut-off.mp4"
    orphan.write_bytes(b"partial")
    os.utime(orphan, (time.time() - 7 * 3600,) * 2)

    deleted = services.upload_prune(older_than_hours=72)

    assert deleted == 1
    assert set(Upload.objects.values_list("pk", flat=True)) == {playing.pk, fresh.pk}
    assert playing.path.exists() and fresh.path.exists()
    assert not unused.path.exists() and not orphan.exists()


def test_video_path_names_only_known_uploads(make_clip):
    upload = _upload(make_clip())

    assert selectors.upload_get_by_reference(reference=upload.file_name) == upload
    assert selectors.upload_get_by_reference(reference=str(upload.path)) == upload
    assert selectors.upload_get_by_reference(reference=str(upload.pk)) == upload
    for foreign in ["/etc/passwd", "../../manage.py", f"/tmp/{upload.file_name}", "", "x"]:
        assert selectors.upload_get_by_reference(reference=foreign) is None


def test_old_frontend_t_starts_once_and_a_viewer_only_joins(make_clip, operator, viewer):
    upload = _upload(make_clip())

    with pytest.raises(PermissionDenied):
        services.stream_ensure(
            camera_id="cam-1", upload=upload, loop=True, speed=1.0, start_token="1", actor=viewer
        )
    started = services.stream_ensure(
        camera_id="cam-1", upload=upload, loop=True, speed=1.0, start_token="1", actor=operator
    )
    again = services.stream_ensure(
        camera_id="cam-1", upload=upload, loop=True, speed=1.0, start_token="1", actor=operator
    )
    joined = services.stream_ensure(
        camera_id="cam-1", upload=None, loop=None, speed=None, start_token="", actor=viewer
    )
    restarted = services.stream_ensure(
        camera_id="cam-1", upload=None, loop=None, speed=None, start_token="2", actor=operator
    )

    assert started == again == joined
    assert restarted != started and restarted.upload == upload


# What a browser sends for an <img> on the console's own page.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


async def _login(client: AsyncClient, user) -> None:
    from channels.db import database_sync_to_async

    await database_sync_to_async(client.force_login)(user)


async def test_mjpeg_refuses_a_path_that_is_not_an_upload(viewer):
    client = AsyncClient()
    await _login(client, viewer)

    response = await client.get(
        "/api/live-monitoring/stream/cam-1?video_path=/etc/passwd&t=1", headers=SAME_ORIGIN
    )

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_video"


async def test_mjpeg_and_snapshot_need_a_role():
    client = AsyncClient()
    assert (await client.get("/api/live-monitoring/stream/cam-1")).status_code == 401
    assert (await client.get("/api/live-monitoring/stream/cam-1/snapshot.jpg")).status_code == 401


async def test_mjpeg_starts_the_named_upload_and_streams_jpeg_parts(operator, make_clip):
    from channels.db import database_sync_to_async

    upload = await database_sync_to_async(_upload)(make_clip(frames=90, size=(640, 360)))
    client = AsyncClient()
    await _login(client, operator)

    response = await client.get(
        f"/api/live-monitoring/stream/cam-1?video_path={upload.file_name}&loop=true&speed=1&t=9",
        headers=SAME_ORIGIN,
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
    assert "no-store" in response["Cache-Control"]
    parts = response.streaming_content
    chunk = await anext(parts)
    await parts.aclose()
    head, _, jpeg = chunk.partition(b"\r\n\r\n")
    assert b"Content-Type: image/jpeg" in head
    image = cv2.imdecode(np.frombuffer(jpeg[:-2], np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)
    session = await database_sync_to_async(selectors.stream_session_get_active)(camera_id="cam-1")
    assert session.upload_id == upload.pk and session.start_token == "9"

    snapshot = await client.get("/api/live-monitoring/stream/cam-1/snapshot.jpg?width=330")
    assert snapshot.status_code == 200 and snapshot["Content-Type"] == "image/jpeg"
    small = cv2.imdecode(np.frombuffer(snapshot.content, np.uint8), cv2.IMREAD_COLOR)
    assert small.shape[1] == 320


async def _operator_watching(operator, make_clip) -> tuple[AsyncClient, StreamSession]:
    """An Operator's signed-in client, and the stream it watches (started with t=1)."""
    from channels.db import database_sync_to_async

    upload = await database_sync_to_async(_upload)(make_clip(frames=60))
    running = await database_sync_to_async(services.stream_start)(
        camera_id="cam-1", upload=upload, start_token="1", actor=operator
    )
    client = AsyncClient()
    await _login(client, operator)
    return client, running


async def _first_part(response) -> bytes:
    parts = response.streaming_content
    chunk = await anext(parts)
    await parts.aclose()
    return chunk


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/page"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://testserver:3000"},  # the console's host, another port
        {},  # no header at all: not known to come from the console
    ],
    ids=["cross-site", "foreign-referer", "other-port", "no-header"],
)
async def test_an_mjpeg_link_from_another_site_watches_but_never_restarts(
    operator, make_clip, headers
):
    from channels.db import database_sync_to_async

    client, running = await _operator_watching(operator, make_clip)
    other = await database_sync_to_async(_upload)(make_clip("other.mp4", frames=60))

    response = await client.get(
        f"/api/live-monitoring/stream/cam-1?t=2&video_path={other.file_name}&speed=4",
        headers=headers,
    )

    assert response.status_code == 200
    assert b"image/jpeg" in await _first_part(response)
    session = await database_sync_to_async(selectors.stream_session_get_active)(camera_id="cam-1")
    assert session.pk == running.pk and session.speed == 1.0 and session.start_token == "1"


@pytest.mark.parametrize(
    "headers",
    [
        SAME_ORIGIN,
        {"Sec-Fetch-Site": "cross-site", "Referer": "https://player.example.test/watch?c=1"},
        {"Origin": "https://player.example.test"},
    ],
    ids=["same-origin", "trusted-referer", "trusted-origin"],
)
async def test_an_mjpeg_link_from_the_console_or_a_trusted_player_restarts(
    operator, make_clip, headers, settings
):
    from channels.db import database_sync_to_async

    settings.CORS_ALLOWED_ORIGINS = ["https://player.example.test"]
    client, running = await _operator_watching(operator, make_clip)

    response = await client.get("/api/live-monitoring/stream/cam-1?t=2", headers=headers)

    assert response.status_code == 200
    await _first_part(response)
    session = await database_sync_to_async(selectors.stream_session_get_active)(camera_id="cam-1")
    assert session.pk != running.pk and session.start_token == "2"


async def test_mjpeg_and_snapshot_take_token_authentication(operator, make_clip):
    from channels.db import database_sync_to_async
    from rest_framework.authtoken.models import Token

    token = await database_sync_to_async(Token.objects.create)(user=operator)
    upload = await database_sync_to_async(_upload)(make_clip(frames=60))
    client = AsyncClient()
    auth = {"Authorization": f"Token {token.key}"}

    # A token is no ambient credential a foreign page could use: its parameters count.
    url = f"/api/live-monitoring/stream/cam-1?video_path={upload.file_name}"
    response = await client.get(url, headers=auth)
    assert response.status_code == 200, response.content
    await _first_part(response)
    snapshot = await client.get("/api/live-monitoring/stream/cam-1/snapshot.jpg", headers=auth)
    assert snapshot.status_code == 200 and snapshot["Content-Type"] == "image/jpeg"

    refused = await client.get(
        "/api/live-monitoring/stream/cam-1/snapshot.jpg",
        headers={"Authorization": "Token not-a-token"},
    )
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"


async def test_an_mjpeg_response_that_is_never_read_leaves_no_feed_behind(viewer, make_clip):
    """The view made the camera's feed before the response's body began (the join happens
    when the client reads): a client that went away before that left a feed with no viewer
    in the hub for good, its tasks running and its session read every few seconds."""
    from channels.db import database_sync_to_async

    from streaming.hub import hub_get

    path = make_clip("never.mp4")
    upload = await database_sync_to_async(_upload)(path, "cam-never")
    await database_sync_to_async(services.stream_start)(camera_id="cam-never", upload=upload)
    client = AsyncClient()
    await _login(client, viewer)

    response = await client.get(
        "/api/v1/live-monitoring/cameras/cam-never/stream.mjpg", headers=SAME_ORIGIN
    )

    assert response.status_code == 200 and response.streaming
    assert "cam-never" not in hub_get().feeds
