"""An operator follows a show in the admin in Chromium, in Korean, through a real web process
and a real Celery worker: the show's stages with their viewers and replication states, the
event log, the seats; then drains a secondary from the stage list and watches its action
finish. Nothing on the pages is refused by the browser (scripts, styles: the CSP)."""

from __future__ import annotations

import os

import pytest

from broadcastops.tests.helpers import password_for_servers
from ivs_scaling.models import Stage
from ivs_scaling.services import seats
from ivs_scaling.tests.conftest import start_web

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:
    shots = os.environ.get("BROADCASTOPS_SCREENSHOTS")  # for a person to look at
    if shots:
        page.screenshot(path=os.path.join(shots, f"ivs-{name}.png"), full_page=True)


def test_an_operator_follows_a_show_and_drains_a_stage(web, show_kit, operator, chromium_path):
    from playwright.sync_api import sync_playwright

    show_kit.live_with_a_secondary()
    for i in (3, 4):  # the master first, then the secondary
        seats.seat_take(show=show_kit.refresh(), user_id=f"viewer-{i}")
    secondary = Stage.objects.get(role="secondary")
    password_for_servers(operator, "pw-operator")
    web.share_database()
    url = start_web(web)
    web.worker("admin")
    refused: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            page = browser.new_page(
                locale="ko-KR",
                extra_http_headers={"Accept-Language": "ko"},
                viewport={"width": 1400, "height": 900},
            )
            page.on(
                "console",
                lambda m: refused.append(f"{m.text} {m.location}") if m.type == "error" else None,
            )
            page.goto(f"{url}/admin/login/?next=/admin/ivs_scaling/show/")
            page.fill("#id_username", "operator")
            page.fill("#id_password", "pw-operator")
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/ivs_scaling/show/")
            assert "/login/" not in page.url, "the sign-in was refused"
            row = page.locator("#result_list tr", has_text="quiz")
            assert row.locator("td.field-viewers").inner_text() == "5"
            assert row.locator("td.field-stage_count").inner_text() == "2"
            _shot(page, "shows")

            row.locator("a", has_text="quiz").click()
            page.wait_for_url("**/change/")
            stages = page.locator("table.bo-ivs-stages")
            assert stages.locator("th").first.inner_text() == "스테이지"
            master_row = stages.locator("tr", has_text="quiz-master")
            assert "마스터" in master_row.inner_text() and "4 / 4" in master_row.inner_text()
            second_row = stages.locator("tr", has_text="quiz-2")
            assert "보조" in second_row.inner_text() and "1 / 4" in second_row.inner_text()
            badge = second_row.locator(".bo-badge")
            assert "bo-green" in (badge.get_attribute("class") or "")
            # The stylesheet applies (no inline style: the CSP would refuse it).
            assert badge.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
            log = page.locator("table.bo-ivs-events").inner_text()
            assert "확장" in log and "복제" in log, log
            assert "Scale up" not in log  # read in Korean, not the English stored beside it
            _shot(page, "show")

            page.goto(f"{url}/admin/ivs_scaling/stage/")
            page.locator("#result_list tr", has_text="quiz-2").locator(
                "input.action-select"
            ).check()
            page.select_option("select[name=action]", "drain")
            page.click("button[name=index]")
            message = page.inner_text(".messagelist")
            assert "ivs_stage.drain" in message and "quiz-2" in message, message
            _shot(page, "stages")

            # The worker drains it: it keeps its viewer, takes no new one.
            page.goto(f"{url}/admin/ivs_scaling/stage/{secondary.pk}/change/")
            page.wait_for_function(
                "document.querySelector('.bo-action').dataset.status === 'succeeded'",
                timeout=60_000,
            )
            assert page.locator(".field-state .readonly").inner_text() == "비우는 중"
            _shot(page, "stage")

            page.goto(f"{url}/admin/ivs_scaling/showevent/")
            assert "복제" in page.inner_text("#result_list")
            _shot(page, "events")
            page.goto(f"{url}/admin/ivs_scaling/seat/")
            assert page.locator("#result_list tbody tr").count() == 5
            _shot(page, "seats")
        finally:
            browser.close()
    # (The console has no favicon: the browser's own request for it is not the pages'.)
    assert not [r for r in refused if "/favicon.ico" not in r], refused
