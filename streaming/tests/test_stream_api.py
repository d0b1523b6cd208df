"""The REST API: who may do what, and the shapes it answers with."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from streaming.models import StreamSession

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upload_id(operator_client, make_clip):
    clip = make_clip(frames=30)
    response = operator_client.post(
        "/api/live-monitoring/upload-video?camera_id=cam-1",
        {"video": SimpleUploadedFile("clip.mp4", clip.read_bytes())},
        format="multipart",
    )
    assert response.status_code == 201
    return response.json()["upload_id"]


def test_operator_starts_updates_and_stops_a_stream(operator_client, upload_id):
    started = operator_client.post(
        "/api/v1/live-monitoring/cameras/cam-1/start",
        {"upload_id": upload_id, "loop": False, "speed": 0.5},
        format="json",
    )
    assert started.status_code == 201, started.json()
    assert started.json()["upload"]["upload_id"] == upload_id
    assert started.json()["speed"] == 0.5 and started.json()["loop"] is False

    updated = operator_client.post(
        "/api/v1/live-monitoring/cameras/cam-1/playback", {"speed": 2}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["speed"] == 2.0

    detail = operator_client.get("/api/v1/live-monitoring/cameras/cam-1")
    assert detail.json()["session_id"] == started.json()["session_id"]

    stopped = operator_client.post("/api/v1/live-monitoring/cameras/cam-1/stop")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    again = operator_client.post("/api/v1/live-monitoring/cameras/cam-1/stop")
    assert again.status_code == 404 and again.json()["code"] == "no_stream"


def test_viewer_can_read_but_not_start(viewer_client, upload_id):
    refused = viewer_client.post(
        "/api/v1/live-monitoring/cameras/cam-1/start", {"upload_id": upload_id}, format="json"
    )
    assert refused.status_code == 403
    assert StreamSession.objects.count() == 0
    listing = viewer_client.get("/api/v1/live-monitoring/uploads?camera_id=cam-1")
    assert listing.status_code == 200 and listing.json()["count"] == 1


def test_bad_start_input_is_a_readable_400(operator_client, upload_id):
    response = operator_client.post(
        "/api/v1/live-monitoring/cameras/cam-1/start",
        {"upload_id": upload_id, "speed": 10},
        format="json",
    )
    assert response.status_code == 400
    assert "speed" in response.json()["detail"]
    missing = operator_client.post(
        "/api/v1/live-monitoring/cameras/cam-1/start",
        {"upload_id": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )
    assert missing.status_code == 404


def test_upload_list_query_count_is_fixed(viewer_client, upload_id, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = viewer_client.get("/api/v1/live-monitoring/uploads")
    assert response.status_code == 200


def test_the_page_renders_for_a_viewer(viewer):
    from django.test import Client

    client = Client()
    client.force_login(viewer)
    response = client.get("/live-monitoring/")
    assert response.status_code == 200
    assert b"live_monitoring.js" in response.content
    assert b'id="lm-upload"' not in response.content  # upload controls are for operators
