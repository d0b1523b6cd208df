import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ko", "사용자 이름"), ("zh-hant", "使用者名稱"), ("en", "Username")],
)
def test_login_page_answers_in_the_browser_language(client, language, expected):
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert expected in page
    assert "BroadcastOps" in page


def test_our_own_strings_are_translated(admin_client):
    korean = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "운영 콘솔" in korean and "시스템 상태" in korean
    chinese = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "營運控制台" in chinese


def test_console_landing_page_holds_the_dashboard_and_the_demo_banner(admin_client, settings):
    settings.CLOUD_DEMO = True
    page = admin_client.get("/admin/").content.decode()
    assert 'id="bo-dashboard"' in page and "dashboard.js" in page
    assert "DEMO" in page
    settings.CLOUD_DEMO = False
    assert "bo-demo-banner" not in admin_client.get("/admin/").content.decode()


def test_site_root_opens_the_console(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_static_files_are_served_by_the_application_server(client):
    response = client.get("/static/broadcastops/dashboard.js")
    assert response.status_code == 200
    assert b"/healthz" in b"".join(response.streaming_content)
