"""An operator restarts a channel from the admin in Chromium (in Korean) and watches the
action's progress on the channel's page as a real worker writes it, without reloading."""

import os

import pytest

from broadcastops.actions.tests.workers import Workers
from broadcastops.cloud.simulator.server import load_scenario
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.tests.browser import until
from broadcastops.tests.helpers import password_for_servers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_channel_page_follows_a_restart_as_it_runs(cloudsim, operator, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    cloudsim.load(load_scenario(None))
    cloudsim.control("options", {"start_delay_s": 2.0, "stop_delay_s": 2.0})
    inventory_poll(full=True)
    password_for_servers(operator, "pw-operator")
    processes = Workers(tmp_path, cloudsim.url)
    processes.share_database()
    try:
        url = processes.daphne()
        processes.worker("browser")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path,
                args=["--no-sandbox", "--disable-background-networking"],
            )
            try:
                page = browser.new_page(
                    locale="ko-KR", extra_http_headers={"Accept-Language": "ko"}
                )
                page.goto(f"{url}/admin/login/?next=/admin/inventory/livechannel/")
                page.fill("#id_username", "operator")
                page.fill("#id_password", "pw-operator")
                page.click("input[type=submit]")
                page.wait_for_url("**/admin/inventory/livechannel/")
                assert "/login/" not in page.url, "the sign-in was refused"
                page.locator("tr", has_text="channel-kbo-002").locator(
                    "input.action-select"
                ).check()
                page.select_option("select[name=action]", "restart_channels")
                page.click("button[name=index]")
                page.click("input[type=submit].default")  # the confirmation page
                page.wait_for_url("**/change/")
                message = page.inner_text(".messagelist")
                assert "channel.restart" in message and "channel-kbo-002" in message
                block = page.locator(".bo-action").first
                assert block.get_attribute("data-status") == "running"
                # The worker stops and starts the channel; the block follows it by itself.
                until(
                    page,
                    "document.querySelector('.bo-action').dataset.status === 'succeeded'",
                    timeout_s=60,
                )
                steps = block.locator(".bo-action-progress li").all_inner_texts()
                assert any("channel-kbo-002을(를) 중지합니다" in s for s in steps), steps
                assert block.locator(".bo-action-status").inner_text() == "성공"
                assert block.locator(".bo-action-outcome").inner_text().startswith("재시작 완료")
                # Its own page in the audit trail, reached from the block's link.
                block.locator("a").first.click()
                page.wait_for_url("**/admin/actions/operatoraction/*/change/")
                assert "재시작 완료" in page.inner_text("#content")
                shots = os.environ.get("BROADCASTOPS_SCREENSHOTS")  # for a person to look at
                if shots:
                    page.screenshot(path=os.path.join(shots, "action.png"), full_page=True)
            finally:
                browser.close()
    finally:
        processes.close()
