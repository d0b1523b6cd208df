"""Every page works under the Content-Security-Policy, in Chromium against daphne: the admin
(login, lists, actions, a form), the live dashboard, the API docs and live monitoring, with no
violation reported by the browser."""

import pytest
import requests

from broadcastops.tests.browser import CSP_LISTEN, csp_violations, until
from broadcastops.tests.daphne_server import daphne_prepare
from streaming.tests.conftest import clip_write

pytestmark = pytest.mark.browser

_ADMIN = """
from django.contrib.auth import get_user_model
from broadcastops.accounts.roles import Role
from broadcastops.accounts.services import user_set_role
user = get_user_model().objects.create_user(username="boss", password="boss-password-1")
user_set_role(user=user, role=Role.ADMIN)
"""


@pytest.fixture
def server(tmp_path):
    server = daphne_prepare(tmp_path / "data")
    server.manage("shell", "-c", _ADMIN)
    server.start()
    yield server
    server.stop()


def _start_stream(server, tmp_path) -> None:
    server.upload_and_start(clip_write(tmp_path / "csp.mp4", frames=300, fps=30.0), "cam-csp")


def test_every_page_works_under_the_policy_with_no_violation(server, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    _start_stream(server, tmp_path)
    header = requests.get(f"{server.url}/admin/login/", timeout=5).headers
    policy = header["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy

    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            page = browser.new_page()
            page.add_init_script(CSP_LISTEN)
            page.on("console", lambda message: console.append(message.text))
            seen: dict[str, list[str]] = {}

            def visit(path: str, ready: str) -> None:
                page.goto(server.url + path)
                until(page, ready)
                seen[path] = csp_violations(page)

            page.goto(f"{server.url}/admin/login/?next=/admin/")
            page.fill("#id_username", "boss")
            page.fill("#id_password", "boss-password-1")
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/")
            seen["login"] = csp_violations(page)

            # The dashboard: its script ran and its socket is live.
            until(page, "document.getElementById('bo-live-status').textContent.startsWith('Live')")
            until(page, "document.querySelectorAll('#bo-health-checks li').length > 0")
            seen["/admin/"] = csp_violations(page)

            # A list with the admin's action script: "select all" ticks every row.
            visit("/admin/streaming/upload/", "document.querySelector('#action-toggle') !== null")
            page.click("#action-toggle")
            assert page.eval_on_selector_all(
                ".action-select", "boxes => boxes.every(b => b.checked)"
            )
            seen["/admin/streaming/upload/ (actions)"] = csp_violations(page)

            # A form with widgets (the password fields' script) that saves.
            visit("/admin/auth/user/add/", "document.querySelector('#id_username') !== null")
            page.fill("#id_username", "new-viewer")
            page.fill("#id_password1", "a-long-password-77")
            page.fill("#id_password2", "a-long-password-77")
            page.click("input[name=_save]")
            page.wait_for_url("**/change/")
            seen["/admin/auth/user/add/ (saved)"] = csp_violations(page)

            # The API docs: Swagger UI drew every operation from the schema.
            visit("/api/docs/", "document.querySelectorAll('.opblock').length > 10")

            # Live monitoring: frames arrive over the socket and are shown.
            visit("/live-monitoring/?camera=cam-csp", "window.liveMonitoring !== undefined")
            page.fill("#lm-camera", "cam-csp")
            page.click("#lm-watch")
            until(page, "window.liveMonitoring.framesShown > 5")
            seen["/live-monitoring/ (frames)"] = csp_violations(page)
        finally:
            browser.close()

    assert {path: found for path, found in seen.items() if found} == {}
    assert [line for line in console if "Content Security Policy" in line] == []
