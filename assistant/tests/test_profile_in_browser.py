"""The profile page in Chromium, in Korean, against daphne (the real settings, so the real
Content-Security-Policy): nothing refused, no English left, and the Slack id saved."""

import os

import pytest

from broadcastops.tests.browser import CSP_LISTEN, csp_violations
from broadcastops.tests.daphne_server import daphne_simulated

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("BROADCASTOPS_SCREENSHOTS", "")  # a folder, to look at them
ENGLISH = ("Slack member id", "Save", "Operator role", "notify me by", "language")


@pytest.fixture
def server(cloudsim, tmp_path):
    server = daphne_simulated(cloudsim, tmp_path / "data")
    server.start()
    yield server
    server.stop()


def test_the_profile_page_in_korean_under_the_policy(server, chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            context = browser.new_context(
                locale="ko-KR",
                extra_http_headers={"Accept-Language": "ko"},
                viewport={"width": 1280, "height": 900},
            )
            context.add_init_script(CSP_LISTEN)
            context.add_cookies(
                [{"name": "sessionid", "value": server.session_key, "url": server.url}]
            )
            page = context.new_page()
            response = page.goto(server.url + "/admin/")
            assert response is not None and response.status == 200
            page.click("#user-tools a:has-text('내 프로필')")  # every admin page links it
            page.wait_for_selector("#id_slack_user_id")
            assert page.url == server.url + "/assistant/profile/"
            page.fill("#id_slack_user_id", "U0KIM0001")
            page.click("input[type=submit]")
            page.wait_for_selector(".messagelist")
            if SCREENSHOTS:
                page.screenshot(path=os.path.join(SCREENSHOTS, "profile-ko.png"), full_page=True)
            assert csp_violations(page) == []
            text = page.inner_text("#content")
            assert [w for w in ENGLISH if w in text] == []
            assert "Slack 멤버 ID" in text
            assert page.get_attribute("input[type=submit]", "value") == "저장"
            assert page.input_value("#id_slack_user_id") == "U0KIM0001"
            assert "설정을 저장했습니다." in page.inner_text(".messagelist")
        finally:
            browser.close()
