"""The console's pages work under the Content-Security-Policy, in Chromium (Korean) against
daphne and the simulator: the channel list and a channel page with a running action that
follows itself from the API (actions/progress.js), a flow's page, the audit trail, the
failover audit, the delivery log, and the confirmation pages of a channel action and of the
failover fix, with no violation reported by the browser. (The login, the dashboard, a saved
form, the API docs and live monitoring: streaming/tests/test_pages_under_csp.py.)"""

import os

import pytest

from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY, load_scenario
from broadcastops.tests.browser import CSP_LISTEN, csp_violations, until
from broadcastops.tests.daphne_server import daphne_prepare

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("BROADCASTOPS_SCREENSHOTS", "")  # a folder, to look at them

# A running action on a channel, so its page carries a block that follows it.
_RUNNING_ACTION = """
from broadcastops.actions.models import OperatorAction
from broadcastops.inventory.models import LinkFlow, LiveChannel
channel = LiveChannel.objects.get(name="channel-kbo-002")
OperatorAction.objects.create(
    actor_name="op", action="channel.restart", target_type="channel",
    target_id=channel.cloud_id, target_name=channel.name,
)
print(channel.pk, LinkFlow.objects.order_by("pk").first().pk)
"""


@pytest.fixture
def server(cloudsim, tmp_path):
    cloudsim.load(load_scenario(None))
    server = daphne_prepare(
        tmp_path / "data",
        TENCENTCLOUD_ENDPOINT=cloudsim.url,
        TENCENTCLOUD_SECRET_ID=SIM_SECRET_ID,
        TENCENTCLOUD_SECRET_KEY=SIM_SECRET_KEY,
    )
    server.manage("sync_cloud", "--once")
    server.start()
    yield server
    server.stop()


def test_the_console_pages_work_under_the_policy_with_no_violation(server, chromium_path):
    from playwright.sync_api import sync_playwright

    channel_pk, flow_pk = server.manage("shell", "-c", _RUNNING_ACTION).split()[-2:]
    seen: dict[str, list[str]] = {}
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
            page.add_init_script(CSP_LISTEN)

            def visit(path: str, ready: str, name: str = "") -> None:
                page.goto(server.url + path)
                until(page, ready)
                seen[name or path] = csp_violations(page)
                if SCREENSHOTS:
                    shot = (name or path).strip("/").replace("/", "_") or "index"
                    page.screenshot(path=os.path.join(SCREENSHOTS, f"csp-{shot}.png"))

            rows = "document.querySelectorAll('#result_list tbody tr').length > 0"
            visit("/admin/inventory/livechannel/", rows)
            # The action block asked the API for the action (connect-src) and rendered it.
            fetched = (
                "performance.getEntriesByType('resource')"
                ".some(e => e.name.includes('/api/v1/actions/'))"
            )
            visit(f"/admin/inventory/livechannel/{channel_pk}/change/", fetched)
            visit(
                f"/admin/inventory/linkflow/{flow_pk}/change/", "document.readyState === 'complete'"
            )
            visit("/admin/actions/operatoraction/", rows)
            page.click("#result_list tbody tr th a")
            until(page, "document.querySelector('.field-progress_lines') !== null")
            seen["audit entry"] = csp_violations(page)
            visit("/admin/failover/failoveraudit/", rows)
            visit("/admin/notify/notification/", "document.readyState === 'complete'")

            # The confirmation pages of a channel action and of the failover fix.
            for action, ready in (
                ("restart_channels", "input[type=submit].default"),
                ("fix_input_failover", "form select[name=secondary_input_id]"),
            ):
                visit("/admin/inventory/livechannel/", rows)
                page.locator("tr", has_text="channel-kbo-001").locator(
                    "input.action-select"
                ).check()
                page.select_option("select[name=action]", action)
                page.click("button[name=index]")
                until(page, f"document.querySelector({ready!r}) !== null")
                seen[f"confirm {action}"] = csp_violations(page)
        finally:
            browser.close()

    assert len(seen) == 9  # the channel list once: later visits only lead to the confirmations
    assert {path: found for path, found in seen.items() if found} == {}
