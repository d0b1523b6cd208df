"""reporter.js and the demo player in Chromium: a refusing WHEP URL is reported; a report made
while the console is down survives a reload and arrives once when it is back."""

import json
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


def player_site(tmp_path, server, script: str):
    """A player frontend on an origin of its own (a static server) that bundles reporter.js."""
    site = tmp_path / "player"
    site.mkdir()
    shutil.copy(STATIC / "reporter.js", site / "reporter.js")
    (site / "index.html").write_text(PLAYER_PAGE)
    (site / "player.js").write_text(script)
    player = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site))
    )
    threading.Thread(target=player.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{player.server_address[1]}"
    server.env["CORS_ALLOWED_ORIGINS"] = origin
    return player, origin


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
    # The demo player may pull only from configured servers (its CSP's connect-src).
    servers = [{"name": "standin", "whep_url": standin.url, "paths": ["missing"]}]
    server = daphne_prepare(tmp_path / "data", ERRORLOGS_MEDIAMTX_SERVERS=json.dumps(servers))
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
    server = daphne_prepare(tmp_path / "data")
    player, player_origin = player_site(
        tmp_path, server, PLAYER_JS % {"console": server.url, "closed": free_port()}
    )
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


QUIET_PLAYER_JS = """
window.reporter = BroadcastOpsReporter.create({
  endpoint: "%(console)s/api/v1/error-logs/mediamtx", retryBaseMs: 300, retryMaxMs: 800
});
"""


def test_retry_after_is_honoured_and_a_broken_reporter_never_breaks_playback(tmp_path, browser):
    standin = MediaMTXStandIn()
    standin.publish("stitched")
    standin.start()
    # One request per address every 4 s, no burst: the second report is answered 429.
    server = daphne_prepare(
        tmp_path / "data", ERRORLOGS_THROTTLE_PER_S="0.25", ERRORLOGS_THROTTLE_BURST="1"
    )
    player, origin = player_site(tmp_path, server, QUIET_PLAYER_JS % {"console": server.url})
    server.start()
    try:
        page = browser.new_page()
        errors, posts = [], []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "response",
            lambda r: (
                posts.append((time.monotonic(), r.status, r.headers.get("retry-after")))
                if r.request.method == "POST" and "/error-logs/" in r.url
                else None
            ),
        )
        page.goto(f"{origin}/index.html")
        failure = "reporter.report({streamId: '%s', errorType: 'connection_failed'})"
        assert page.evaluate(failure % "cam-1") is True
        until(lambda: page.evaluate("reporter.sent") == 1, what="the first report")
        assert page.evaluate(failure % "cam-1") is False  # the same stream and kind within 30 s
        assert page.evaluate(failure % "cam-2") is True
        until(lambda: page.evaluate("reporter.sent") == 2, timeout_s=30, what="the second")
        assert [status for _, status, _ in posts] == [202, 429, 202]
        retry_after = int(posts[1][2])
        assert retry_after >= 1
        assert posts[2][0] - posts[1][0] >= retry_after - 0.2  # not after retryBaseMs (300 ms)
        assert (
            sorted(rows(server, "cam-1") + rows(server, "cam-2"))
            == [("connection_failed", None)] * 2
        )

        # The reporter's storage and sends fail: the player still gets its WHEP answers.
        page.evaluate("""() => {
            Storage.prototype.setItem = function () {
                throw new DOMException("full", "QuotaExceededError");
            };
            Storage.prototype.getItem = function () {
                throw new DOMException("denied", "SecurityError");
            };
        }""")
        whep = """async (url) => {
            const response = await reporter.whepFetch(url, {method: "POST", body: "v=0",
                headers: {"Content-Type": "application/sdp"}}, {streamId: "cam-x"});
            return [response.status, await response.text()];
        }"""
        status, answer = page.evaluate(whep, f"{standin.url}/stitched/whep")
        assert status == 201 and answer.startswith("v=0")
        assert page.evaluate(whep, f"{standin.url}/missing/whep")[0] == 404
        refused = f"http://127.0.0.1:{free_port()}/cam/whep"
        assert (
            page.evaluate(
                "(url) => reporter.whepFetch(url, {method: 'POST'}, {}).then("
                "() => 'resolved', (e) => e instanceof TypeError ? 'its own error' : String(e))",
                refused,
            )
            == "its own error"
        )  # the player sees the network error it would have seen anyway
        odd = "() => reporter.watch({addEventListener() { throw new Error('odd'); }}, {}) !== null"
        assert page.evaluate(odd) is True
        assert page.evaluate("reporter.report(null)") is False
        assert errors == []
    finally:
        server.stop()
        standin.stop()
        player.shutdown()
        player.server_close()
