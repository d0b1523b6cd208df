"""Live monitoring in the console's languages: the page, its script's texts, the API's errors."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

pytestmark = pytest.mark.django_db

UPLOAD_URL = "/api/live-monitoring/upload-video?camera_id=cam-1"


def _js(text: str) -> str:
    return json.dumps(text)[1:-1]


@pytest.fixture
def viewer_page_client(viewer):
    client = Client()
    client.force_login(viewer)
    return client


def test_page_answers_in_korean(viewer_page_client):
    response = viewer_page_client.get("/live-monitoring/", HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 200
    page = response.content.decode()
    assert "라이브 모니터링" in page  # title and breadcrumb
    assert "연결되지 않았습니다." in page  # the status before the socket connects
    assert 'alt="선택한 카메라의 라이브 화면"' in page
    assert "Not connected." not in page
    # The script's catalogue is loaded before the script.
    assert page.index('src="/jsi18n/"') < page.index("streaming/live_monitoring.js")


def test_page_answers_in_traditional_chinese(viewer_page_client):
    page = viewer_page_client.get("/live-monitoring/", HTTP_ACCEPT_LANGUAGE="zh-hant")

    assert "即時監看" in page.content.decode()


def test_forbidden_page_is_translated(nobody):
    client = Client()
    client.force_login(nobody)

    response = client.get("/live-monitoring/", HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 403
    assert "관리자에게 Viewer 역할을 요청하세요." in response.content.decode()


def test_javascript_catalogue_holds_the_page_script_texts(client):
    korean = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="ko")
    english = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en")

    assert korean.status_code == 200
    assert "javascript" in korean["Content-Type"]
    # The catalogue is JSON inside the script, non-ASCII escaped as \uXXXX.
    text = korean.content.decode()
    assert _js("먼저 동영상 파일을 선택하세요.") in text  # "Choose a video file first."
    assert _js("%(seconds)s초 후 다시 연결") in text  # placeholders kept for interpolate()
    assert _js("먼저 동영상 파일을 선택하세요.") not in english.content.decode()


def test_upload_error_comes_back_in_the_requested_language(operator_client, tmp_path):
    gif = tmp_path / "clip.gif"
    gif.write_bytes(b"GIF89a" + b"\x00" * 1000)
    upload = SimpleUploadedFile(gif.name, gif.read_bytes())

    response = operator_client.post(
        UPLOAD_URL, {"video": upload}, format="multipart", HTTP_ACCEPT_LANGUAGE="ko"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unsupported_type"
    assert body["message"] == (
        "“clip.gif” 은(는) 지원하지 않는 동영상 형식입니다. 다음 중 하나를 업로드하세요: "
        "mp4, mov, avi, mkv, webm."
    )


def test_missing_video_field_is_reported_in_the_requested_language(operator_client):
    response = operator_client.post(
        UPLOAD_URL, {}, format="multipart", HTTP_ACCEPT_LANGUAGE="zh-hant"
    )

    assert response.status_code == 400
    assert "請選擇要上傳的影片檔" in str(response.json())
