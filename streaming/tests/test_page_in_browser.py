"""The live-monitoring page in Chromium, against daphne: upload, watch, leave, come back,
lose the server and get it back."""

import time

import pytest

from broadcastops.tests.browser import until
from broadcastops.tests.daphne_server import daphne_prepare
from streaming.tests.conftest import clip_write

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    server = daphne_prepare(tmp_path / "data")
    server.start()
    yield server
    server.stop()


def _wait(page, expression, timeout_s=15.0):
    until(page, expression, timeout_s)


def test_upload_watch_navigate_back_and_reconnect(server, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    clip = clip_write(tmp_path / "rehearsal.mp4", frames=600, fps=30.0, size=(320, 240))
    (tmp_path / "notes.txt").write_text("not a video")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            page = browser.new_page()
            page.goto(f"{server.url}/admin/login/?next=/live-monitoring/")
            page.fill("#id_username", "op")
            page.fill("#id_password", "op-password-1")
            page.click("input[type=submit]")
            page.wait_for_url("**/live-monitoring/")
            page.fill("#lm-camera", "cam-b")

            # A wrong type is refused with a message, before anything is sent.
            page.set_input_files("#lm-file", str(tmp_path / "notes.txt"))
            page.click("#lm-upload")
            assert "not a supported video type" in page.inner_text("#lm-error")

            page.set_input_files("#lm-file", str(clip))
            page.click("#lm-upload")
            _wait(
                page,
                "document.getElementById('lm-progress-text').textContent.startsWith('Uploaded')",
            )
            assert page.eval_on_selector("#lm-progress", "p => p.value") == 100
            _wait(page, "window.liveMonitoring.framesShown > 10")
            first = page.locator("#lm-frame").screenshot()
            time.sleep(0.5)
            assert page.locator("#lm-frame").screenshot() != first, "the picture does not move"
            status = page.evaluate("window.liveMonitoring.lastStatus")
            assert status["state"] == "playing" and status["viewers"] == 1
            session_id, position = status["session_id"], status["position_s"]

            # Away and back: same session, later position, no restart.
            page.goto(f"{server.url}/admin/")
            time.sleep(2.0)
            page.goto(f"{server.url}/live-monitoring/")
            _wait(page, "window.liveMonitoring.framesShown > 3")
            status = page.evaluate("window.liveMonitoring.lastStatus")
            assert page.input_value("#lm-camera") == "cam-b"
            assert status["session_id"] == session_id
            assert status["position_s"] >= position + 2.0

            # The server goes away: the page says so and comes back by itself.
            server.stop()
            _wait(page, "!window.liveMonitoring.connected")
            _wait(page, "document.getElementById('lm-status').textContent.includes('Reconnecting')")
            server.start()
            shown = page.evaluate("window.liveMonitoring.framesShown")
            _wait(page, f"window.liveMonitoring.framesShown > {shown + 5}", timeout_s=30)
            assert page.evaluate("window.liveMonitoring.lastStatus.session_id") == session_id
        finally:
            browser.close()


def test_page_script_speaks_the_browser_language(server, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    (tmp_path / "notes.txt").write_text("not a video")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            page = browser.new_page(locale="ko-KR")
            page.goto(f"{server.url}/admin/login/?next=/live-monitoring/")
            page.fill("#id_username", "op")
            page.fill("#id_password", "op-password-1")
            page.click("input[type=submit]")
            page.wait_for_url("**/live-monitoring/")
            assert page.inner_text("#lm-upload") == "업로드 후 재생"

            # Texts of the script come from the JavaScript catalogue, placeholders filled in.
            page.set_input_files("#lm-file", str(tmp_path / "notes.txt"))
            page.click("#lm-upload")
            assert page.inner_text("#lm-error") == (
                "“notes.txt” 은(는) 지원하지 않는 동영상 형식입니다. "
                "mp4, mov, avi, mkv, webm 형식을 사용하세요."
            )
            _wait(page, "document.getElementById('lm-status').textContent.startsWith('연결됨')")
        finally:
            browser.close()
