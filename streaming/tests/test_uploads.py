"""Upload rules: what is kept, what is refused, and that a refusal leaves nothing behind."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopFutureHandlers
from django.test import override_settings

from streaming.models import Upload
from streaming.tests.conftest import files_under
from streaming.uploads import VideoUploadHandler

URL = "/api/live-monitoring/upload-video?camera_id=cam-1"
V1_URL = "/api/v1/live-monitoring/uploads/create"

pytestmark = pytest.mark.django_db


def _post(client, path, *, name=None, url=URL, data=None):
    with open(path, "rb") as handle:
        upload = SimpleUploadedFile(name or path.name, handle.read())
    return client.post(url, {"video": upload, **(data or {})}, format="multipart")


def test_upload_keeps_the_file_and_returns_its_figures(operator_client, make_clip, settings):
    clip = make_clip(frames=45, fps=15.0, size=(320, 240))

    response = _post(operator_client, clip)

    assert response.status_code == 201, response.json()
    body = response.json()
    upload = Upload.objects.get()
    assert body["upload_id"] == str(upload.pk)
    assert body["camera_id"] == "cam-1"
    assert body["fps"] == pytest.approx(15.0)
    assert body["duration_s"] == pytest.approx(3.0)
    assert body["resolution"] == "320x240"
    assert body["size_bytes"] == clip.stat().st_size
    assert body["video_path"] == upload.file_name
    assert f"video_path={upload.file_name}" in body["stream_url"]
    assert body["urls"]["websocket_url"].endswith("/ws/live-monitoring/cam-1/")
    assert upload.path.read_bytes() == clip.read_bytes()
    # Stored under a generated name, never the browser's.
    assert upload.file_name != clip.name and upload.original_name == clip.name
    assert files_under(settings.STREAMING_DIR / "incoming") == []


@pytest.mark.parametrize(
    ("name", "fourcc"),
    [("a.avi", "MJPG"), ("b.mkv", "mp4v"), ("c.mov", "mp4v"), ("d.webm", "VP80")],
)
def test_upload_accepts_every_supported_container(operator_client, make_clip, name, fourcc):
    clip = make_clip(name, frames=10, fourcc=fourcc)

    response = _post(operator_client, clip, url=V1_URL, data={"camera_id": "cam-2"})

    assert response.status_code == 201, response.json()
    assert Upload.objects.get().camera_id == "cam-2"


def test_corrupt_video_is_refused_and_nothing_is_kept(operator_client, tmp_path, settings):
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 5000)

    response = _post(operator_client, corrupt)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unreadable_video"
    assert "broken.mp4" in body["message"] and "not a video we can play" in body["message"]
    assert Upload.objects.count() == 0
    assert files_under(settings.STREAMING_DIR) == []


def _opens_without_a_frame(path) -> bool:
    import cv2

    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        return cap.isOpened() and not cap.read()[0]
    finally:
        cap.release()


@pytest.mark.parametrize(("name", "fourcc"), [("cut.mkv", "mp4v"), ("cut.webm", "VP80")])
def test_a_video_that_opens_but_has_no_decodable_frame_is_refused(
    operator_client, make_clip, tmp_path, settings, name, fourcc
):
    whole = make_clip("whole" + name[3:], frames=30, fourcc=fourcc).read_bytes()
    cut = tmp_path / name
    # The headers and no whole frame: the first length at which OpenCV opens the file yet
    # decodes nothing (a few hundred bytes for these containers).
    for length in range(64, 4096, 16):
        cut.write_bytes(whole[:length])
        if _opens_without_a_frame(cut):
            break
    else:
        pytest.fail(f"no prefix of the {name} opens without a frame")

    response = _post(operator_client, cut)

    assert response.status_code == 400
    assert response.json()["code"] == "unreadable_video"
    assert Upload.objects.count() == 0
    assert files_under(settings.STREAMING_DIR) == []


def test_unsupported_type_is_refused_before_anything_is_written(
    operator_client, tmp_path, settings
):
    gif = tmp_path / "clip.gif"
    gif.write_bytes(b"GIF89a" + b"\x00" * 1000)

    response = _post(operator_client, gif)

    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_type"
    assert "mp4, mov, avi, mkv, webm" in response.json()["message"]
    assert files_under(settings.STREAMING_DIR) == []


def test_oversize_body_is_refused_with_413_and_nothing_kept(operator_client, make_clip, settings):
    clip = make_clip(frames=60)
    settings.STREAMING_UPLOAD_MAX_BYTES = clip.stat().st_size // 2

    response = _post(operator_client, clip)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert "limit" in response.json()["message"]
    assert Upload.objects.count() == 0
    assert files_under(settings.STREAMING_DIR) == []


def test_declared_length_over_the_limit_is_refused_at_once(operator_client, settings):
    settings.STREAMING_UPLOAD_MAX_BYTES = 1000
    body = b"x" * (2 * 1024 * 1024)

    response = operator_client.generic(
        "POST", URL, body, content_type="multipart/form-data; boundary=zz"
    )

    assert response.status_code == 413
    assert files_under(settings.STREAMING_DIR) == []


def test_missing_file_is_a_clear_400(operator_client):
    response = operator_client.post(URL, {}, format="multipart")

    assert response.status_code == 400
    assert "Choose a video file" in str(response.json()["detail"]["video"])


def test_viewer_may_not_upload_and_no_file_is_left(viewer_client, make_clip, settings):
    response = _post(viewer_client, make_clip())

    assert response.status_code == 403
    assert Upload.objects.count() == 0
    assert files_under(settings.STREAMING_DIR) == []


def test_bad_camera_id_is_refused_and_nothing_kept(operator_client, make_clip, settings):
    clip = make_clip()

    response = _post(operator_client, clip, url="/api/live-monitoring/upload-video?camera_id=../x")

    assert response.status_code == 400
    assert files_under(settings.STREAMING_DIR) == []


def test_interrupted_upload_deletes_what_the_handler_wrote(settings, rf):
    handler = VideoUploadHandler(rf.post("/"))
    with pytest.raises(StopFutureHandlers):  # no other handler gets the video
        handler.new_file("video", "clip.mp4", "video/mp4", None)
    handler.receive_data_chunk(b"x" * 65536, 0)
    assert len(files_under(settings.STREAMING_DIR / "incoming")) == 1

    handler.upload_interrupted()

    assert files_under(settings.STREAMING_DIR) == []


@override_settings(STREAMING_UPLOAD_MAX_BYTES=10 * 1024 * 1024)
def test_truncated_multipart_body_leaves_no_row_and_no_file(operator_client, make_clip, settings):
    clip = make_clip(frames=60).read_bytes()
    boundary = "cutcutcut"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="video"; '
        'filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    body = head + clip[: len(clip) // 2]  # the connection "dropped" halfway, no end boundary

    response = operator_client.generic(
        "POST",
        URL,
        io.BytesIO(body).read(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )

    assert response.status_code == 400
    assert Upload.objects.count() == 0
    assert files_under(settings.STREAMING_DIR) == []


@pytest.mark.parametrize("second_field", ["video", "thumbnail"])
def test_a_second_file_is_refused_clearly_and_nothing_is_kept(
    operator_client, make_clip, settings, second_field
):
    clip = make_clip(frames=10)
    first = SimpleUploadedFile("first.mp4", clip.read_bytes())
    second = SimpleUploadedFile("second.mp4", clip.read_bytes())
    files = {"video": [first, second]} if second_field == "video" else {"video": first}
    if second_field != "video":
        files[second_field] = second

    response = operator_client.post(URL, files, format="multipart")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "one_video_only"
    assert "one video per request" in body["message"] and "second.mp4" in body["message"]
    assert Upload.objects.count() == 0
    assert files_under(settings.STREAMING_DIR) == []


def test_a_json_body_is_refused_without_being_read(operator_client):
    response = operator_client.post(URL, {"video": "x"}, format="json")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
