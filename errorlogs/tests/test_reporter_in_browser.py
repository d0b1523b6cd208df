"""reporter.js and the demo player in Chromium: a refusing WHEP URL is reported; a report made
while the console is down survives a reload and arrives once when it is back."""

import shutil
import sqlite3
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from broadcastops.tests.daphne_server import daphne_prepare, free_port
from errorlogs.tests.mediamtx_standin import MediaMTXStandIn

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[1] / "static" / "errorlogs"
ARGS = ["--no-sandbox", "--disable-background-networking"]

PLAYER_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>player</title>
<script src="reporter.js"></script><script src="player.js"></script></head>
<body>player</body></html>"""
# A player frontend of its own, on another origin: it bundles reporter.js and posts to the console.
PLAYER_JS = """
window.reporter = BroadcastOpsReporter.create({
  endpoint: "%(console)s/api/v1/error-logs/mediamtx", retryBaseMs: 300, retryMaxMs: 800
});
if (!localStorage.getItem("played")) {
  localStorage.setItem("played", "1");
  reporter.whepFetch("http://127.0.0.1:%(closed)d/cam-off/whep",
    {method: "POST", body: "v=0", headers: {"Content-Type": "application/sdp"}},
    {streamId: "cam-off"}).catch(function () {});
}
"""


def until(check, timeout_s=20.0, what="the condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def rows(server, stream_id):
    with sqlite3.connect(server.data_dir / "broadcastops.sqlite3") as db:
        return db.execute(
            "SELECT error_type, status_code FROM errorlogs_errorreport WHERE stream_id = ?",
            (stream_id,),
        ).fetchall()


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=ARGS)
        yield browser
        browser.close()


def sign_in(page, server, next_path):
    page.goto(f"{server.url}/admin/login/?next={quote(next_path)}")
    page.fill("#id_username", "op")
    page.fill("#id_password", "op-password-1")
    page.click("input[type=submit]")
    target = next_path.split("?")[0]
    page.wait_for_url(lambda url: target in url and "/login/" not in url)


def test_the_demo_player_reports_a_refusing_whep_url(tmp_path, browser):
    standin = MediaMTXStandIn()
    standin.start()
    server = daphne_prepare(tmp_path / "data")
    server.start()
    try:
        context = browser.new_context(locale="ko-KR", extra_http_headers={"Accept-Language": "ko"})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(
            page,
            server,
            f"/player-errors/demo-player/?whep={standin.url}/missing/whep&stream=cam-404",
        )
        page.click("#el-play")
        until(
            lambda: page.evaluate("window.demoPlayer.state") == "failed", what="the player to fail"
        )
        until(lambda: rows(server, "cam-404"), what="the report")
        assert rows(server, "cam-404") == [("whep_post_failed", 404)]
        page.click("#el-play")  # the same failure again within 30 s: not reported twice
        time.sleep(1.5)
        assert len(rows(server, "cam-404")) == 1
        # A WHEP server that is not there at all.
        page.fill("#el-whep-url", f"http://127.0.0.1:{free_port()}/cam/whep")
        page.fill("#el-stream-id", "cam-down")
        page.click("#el-play")
        until(lambda: rows(server, "cam-down"), what="the fetch_error report")
        assert rows(server, "cam-down") == [("fetch_error", None)]
        assert errors == []

        page.goto(f"{server.url}/player-errors/")
        assert page.locator("#el-chart-types svg rect").count() >= 2
        assert "cam-404" in page.inner_text("#el-groups")
        page.screenshot(path=str(tmp_path / "statistics-ko.png"), full_page=True)
        shutil.copy(tmp_path / "statistics-ko.png", Path("/tmp/errorlogs-statistics-ko.png"))
    finally:
        server.stop()
        standin.stop()


def test_a_report_made_while_the_console_is_down_survives_a_reload_and_arrives_once(
    tmp_path, browser
):
    site = tmp_path / "player"
    site.mkdir()
    server = daphne_prepare(tmp_path / "data")
    player = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site))
    )
    player_origin = f"http://127.0.0.1:{player.server_address[1]}"
    server.env["CORS_ALLOWED_ORIGINS"] = player_origin
    shutil.copy(STATIC / "reporter.js", site / "reporter.js")
    (site / "index.html").write_text(PLAYER_PAGE)
    (site / "player.js").write_text(PLAYER_JS % {"console": server.url, "closed": free_port()})
    threading.Thread(target=player.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"{player_origin}/index.html")  # the console is not running
        queued = "JSON.parse(localStorage.getItem('broadcastops.errorReports.v1') || '[]').length"
        until(lambda: page.evaluate(queued) == 1, what="the report to be queued")
        until(lambda: page.evaluate("window.reporter.attempt") >= 2, what="two failed sends")
        page.reload()
        assert page.evaluate(queued) == 1, "the queue did not survive the reload"
        server.start()
        until(lambda: page.evaluate(queued) == 0, timeout_s=30, what="the queue to empty")
        assert rows(server, "cam-off") == [("fetch_error", None)]
        time.sleep(1.5)  # nothing arrives twice (a beacon, a second tab, a retry)
        page.close()
        time.sleep(0.5)
        assert len(rows(server, "cam-off")) == 1
    finally:
        server.stop()
        player.shutdown()
        player.server_close()
