"""The live-monitoring admin: stopping streams and deleting uploads takes an Operator."""

import pytest
from django.test import Client

from streaming import services
from streaming.models import StreamSession, Upload

pytestmark = pytest.mark.django_db(transaction=True)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def playing(make_clip):
    path = make_clip()
    upload = services.upload_create(
        camera_id="cam-1", incoming_path=path, original_name=path.name, actor=None
    )
    return services.stream_start(camera_id="cam-1", upload=upload)


@pytest.fixture
def unused(make_clip):
    path = make_clip("unused.mp4")
    return services.upload_create(
        camera_id="cam-2", incoming_path=path, original_name=path.name, actor=None
    )


def _run(user, model: str, action: str, pk):
    return _client(user).post(
        f"/admin/streaming/{model}/", {"action": action, "_selected_action": [pk]}, follow=True
    )


def test_a_viewer_is_neither_offered_nor_allowed_to_stop_a_stream(viewer, playing):
    page = _client(viewer).get("/admin/streaming/streamsession/").content.decode()
    assert "stop_sessions" not in page
    answer = _run(viewer, "streamsession", "stop_sessions", playing.pk).content.decode()
    assert "Stopped the stream" not in answer
    playing.refresh_from_db()
    assert playing.state == StreamSession.State.RUNNING


def test_an_operator_stops_a_stream_from_the_admin(operator, playing):
    answer = _run(operator, "streamsession", "stop_sessions", playing.pk).content.decode()
    assert "Stopped the stream on cam-1." in answer
    playing.refresh_from_db()
    assert playing.state == StreamSession.State.STOPPED


def test_a_viewer_cannot_delete_an_upload_from_the_admin(viewer, unused):
    answer = _run(viewer, "upload", "delete_unused", unused.pk).content.decode()
    assert "Deleted" not in answer
    assert Upload.objects.filter(pk=unused.pk).exists() and unused.path.exists()


def test_an_operator_deletes_an_unused_upload_from_the_admin(operator, unused):
    answer = _run(operator, "upload", "delete_unused", unused.pk).content.decode()
    assert "Deleted 1 upload." in answer
    assert not Upload.objects.filter(pk=unused.pk).exists()
