"""`.` and `..` (and any id starting with a dot) are refused wherever a camera id enters."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient, Client

from broadcastops.asgi import application
from streaming.camera_ids import camera_id_valid
from streaming.models import Upload

pytestmark = pytest.mark.django_db(transaction=True)

BAD = [".", "..", ".hidden"]


@pytest.mark.parametrize("camera_id", ["cam-1", "a", "_x", "CAM.2", "x" * 64])
def test_ordinary_camera_ids_are_valid(camera_id):
    assert camera_id_valid(camera_id)


@pytest.mark.parametrize("camera_id", [*BAD, "", "x" * 65, "a/b", "a b"])
def test_dot_ids_and_other_shapes_are_not(camera_id):
    assert not camera_id_valid(camera_id)


@pytest.mark.parametrize("camera_id", BAD)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/live-monitoring/cameras/{}"),
        ("post", "/api/v1/live-monitoring/cameras/{}/start"),
        ("post", "/api/v1/live-monitoring/cameras/{}/stop"),
        ("post", "/api/v1/live-monitoring/cameras/{}/playback"),
        ("get", "/api/live-monitoring/stream/{}/snapshot.jpg"),
    ],
)
def test_the_api_refuses_a_dot_camera_id_with_a_400(operator, camera_id, method, path):
    client = Client()
    client.force_login(operator)
    response = getattr(client, method)(path.format(camera_id), {}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_camera_id"


@pytest.mark.parametrize("camera_id", BAD)
def test_an_upload_for_a_dot_camera_id_is_refused(operator_client, make_clip, camera_id):
    clip = make_clip()
    response = operator_client.post(
        f"/api/live-monitoring/upload-video?camera_id={camera_id}",
        {"video": SimpleUploadedFile("clip.mp4", clip.read_bytes())},
        format="multipart",
    )
    assert response.status_code == 400 and "camera_id" in response.json()["detail"]
    assert Upload.objects.count() == 0


@pytest.mark.parametrize("camera_id", BAD)
async def test_mjpeg_refuses_a_dot_camera_id(operator, camera_id):
    client = AsyncClient()
    await database_sync_to_async(client.force_login)(operator)
    response = await client.get(f"/api/live-monitoring/stream/{camera_id}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_camera_id"


@pytest.mark.parametrize("camera_id", BAD)
async def test_the_socket_refuses_a_dot_camera_id(viewer, camera_id):
    def cookie():
        client = Client()
        client.force_login(viewer)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    headers = [
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
        (b"cookie", await database_sync_to_async(cookie)()),
    ]
    comm = WebsocketCommunicator(application, f"/ws/live-monitoring/{camera_id}/", headers)
    assert (await comm.connect())[0]
    error = json.loads((await comm.receive_output(3))["text"])
    assert error["type"] == "error" and "camera id" in error["message"]
    closed = await comm.receive_output(3)
    assert closed["type"] == "websocket.close" and closed["code"] == 4400
