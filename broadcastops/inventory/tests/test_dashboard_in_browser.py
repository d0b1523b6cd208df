"""The dashboard and a channel page in Chromium, in Korean, against daphne and the simulator:
the texts arrive in Korean, the count of channels needing attention is the number of rows
highlighted, and the long Korean labels fit (no badge wraps, nothing overflows the page)."""

import os

import pytest

from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY, load_scenario
from broadcastops.tests.browser import until
from broadcastops.tests.daphne_server import daphne_prepare

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("BROADCASTOPS_SCREENSHOTS", "")  # a folder, to look at them


@pytest.fixture
def server(cloudsim, tmp_path):
    cloudsim.load(load_scenario(None))
    server = daphne_prepare(
        tmp_path / "data",
        TENCENTCLOUD_ENDPOINT=cloudsim.url,
        TENCENTCLOUD_SECRET_ID=SIM_SECRET_ID,
        TENCENTCLOUD_SECRET_KEY=SIM_SECRET_KEY,
        DASHBOARD_REFRESH_S="0.5",
    )
    server.manage("sync_cloud", "--once")
    server.start()
    yield server
    server.stop()


def _shoot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


# Every badge on one line; neither the page nor a list wider than its box.
LAYOUT = """() => {
  const badges = [...document.querySelectorAll('.bo-badge')];
  const wrapped = badges.filter(b => b.getClientRects().length > 1 || b.offsetHeight > 24)
    .map(b => b.textContent);
  const boxes = [document.documentElement, ...document.querySelectorAll('.results')];
  const overflow = Math.max(...boxes.map(b => b.scrollWidth - b.clientWidth));
  return {badges: badges.length, wrapped, overflow};
}"""


def test_dashboard_and_channel_page_in_korean(server, chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
            context.add_cookies(
                [{"name": "sessionid", "value": server.session_key, "url": server.url}]
            )
            page = context.new_page()
            page.goto(f"{server.url}/admin/")
            page.wait_for_selector("#bo-channels tbody tr", timeout=15000)
            until(page, "document.getElementById('bo-health-checks').children.length > 0")
            _shoot(page, "dashboard-ko.png")

            assert page.inner_text("#bo-live-status") == "실시간 — 새로고침 없이 갱신됩니다."
            rows = page.locator("#bo-channels tbody tr")
            assert rows.count() == 12
            highlighted = page.locator("#bo-channels tbody tr.bo-attention").count()
            assert page.inner_text("#bo-attention-count") == (f"조치가 필요한 채널 {highlighted}개")
            assert highlighted == 3
            cj = page.locator("#bo-channels tbody tr[data-channel=cj_onstyle]")
            assert "입력 보호 없이 방송 중" in cj.inner_text()
            assert "실행 중" in cj.inner_text() and "Running" not in cj.inner_text()
            assert "데이터베이스" in page.inner_text("#bo-health-checks")
            layout = page.evaluate(LAYOUT)
            assert layout["badges"] >= 36 and layout["wrapped"] == []
            assert layout["overflow"] <= 0

            page.goto(f"{server.url}/admin/inventory/livechannel/")
            _shoot(page, "channels-ko.png")
            assert "백업 없이 켜짐" in page.inner_text("#result_list")
            layout = page.evaluate(LAYOUT)
            assert layout["wrapped"] == [] and layout["overflow"] <= 0

            page.goto(f"{server.url}/admin/")
            page.click("#bo-channels tbody tr[data-channel=cj_onstyle] a")
            page.click("#result_list tbody tr th a")
            page.wait_for_selector(".field-diagnosis")
            _shoot(page, "channel-ko.png")
            text = page.inner_text("#content")
            assert "조치 필요: 입력 보호 없이 방송 중" in text
            layout = page.evaluate(LAYOUT)
            assert layout["wrapped"] == [] and layout["overflow"] <= 0
        finally:
            browser.close()
