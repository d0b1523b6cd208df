"""Every scheduling page in Chromium, in Korean, against daphne (the real settings, so the real
Content-Security-Policy): the schedule list, a schedule with its steps, the week view, the daily
report, the KPIs with their charts, the calendar feeds and the assignee's notification
settings. Nothing refused by the policy, no English left in the page's own text, nothing wider
than the page."""

import os

import pytest

from broadcastops.tests.browser import CSP_LISTEN, csp_violations
from broadcastops.tests.daphne_server import daphne_simulated

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("BROADCASTOPS_SCREENSHOTS", "")  # a folder, to look at them

# A week of schedules on three channels (one on air now) and their status history, made in
# the server's own database.
SEED = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from broadcastops.inventory.models import ChannelStatus, FailoverEvent, LiveChannel
from scheduling.models import Schedule
from scheduling.services import schedule_create

admin = get_user_model().objects.get(username="op")
now = timezone.now().replace(second=0, microsecond=0)
channels = list(LiveChannel.objects.order_by("name")[:3])
first = None
for n, channel in enumerate(channels):
    for day in range(-6, 3):
        starts = now + timedelta(days=day, hours=n - 1)
        result = schedule_create(
            title=f"KBO 중계 {n + 1}-{day + 7}", channel=channel, starts_at=starts,
            ends_at=starts + timedelta(hours=2), assignee=admin, auto_start=True,
            auto_stop=True, allow_past=True, created_by=admin,
        )
        first = first or result.schedules[0]
        if day < 0:
            s = result.schedules[0]
            Schedule.objects.filter(pk=s.pk).update(
                status="completed", on_air_at=s.starts_at, off_air_at=s.ends_at
            )
            rows = [(s.starts_at, "RUNNING", "MAIN", "green"),
                    (s.ends_at, "IDLE", "MAIN", "green")]
            if day == -2:
                rows.insert(1, (s.starts_at + timedelta(minutes=20), "RUNNING", "BACKUP", "amber"))
                rows.insert(2, (s.starts_at + timedelta(minutes=25), "RUNNING", "MAIN", "green"))
                FailoverEvent.objects.create(
                    channel=channel, pipeline=0, kind="failover", source="observed",
                    occurred_at=s.starts_at + timedelta(minutes=20),
                )
            if day == -1:
                rows.insert(1, (s.starts_at + timedelta(minutes=40), "RUNNING", "MAIN", "red"))
                rows.insert(2, (s.starts_at + timedelta(minutes=47), "RUNNING", "MAIN", "green"))
            for at, state, active, health in rows:
                ChannelStatus.objects.create(
                    channel=channel, at=at, state=state, active_input=active, health=health
                )
# Past local midnight whatever the hour the test runs at (the list once overflowed only
# when the rows above happened to cross it: a test that failed after 21:00 in Seoul).
late = timezone.localtime(now).replace(hour=23, minute=30) + timedelta(days=3)
schedule_create(
    title="KBO 심야", channel=channels[0], starts_at=late, ends_at=late + timedelta(hours=2),
    assignee=admin, auto_start=True, auto_stop=True, created_by=admin,
)
print(first.pk)
"""

# Neither the page nor a table wider than its box; SVG charts with their bars.
LAYOUT = """() => {
  const boxes = [document.documentElement, ...document.querySelectorAll('#content table'),
                 ...document.querySelectorAll('#changelist .results')];
  const overflow = Math.max(...boxes.map(b => b.scrollWidth - b.clientWidth));
  return {overflow, svgs: document.querySelectorAll('#content svg').length,
          bars: document.querySelectorAll('#content svg rect').length};
}"""

# The heights of the list's time cells' text (one line is about 16 px).
ONE_LINE = """() => [...document.querySelectorAll(
  '#result_list td.field-starts_local, #result_list td.field-ends_local')].map(e => {
    const r = document.createRange(); r.selectNodeContents(e);
    return r.getBoundingClientRect().height; })"""

# English an untranslated page would show (the admin's own and these pages' words).
ENGLISH = ("Schedule", "Week", "Daily report", "Availability", "Calendar", "Pending", "Start")


@pytest.fixture
def server(cloudsim, tmp_path):
    server = daphne_simulated(cloudsim, tmp_path / "data")
    server.schedule_id = int(server.manage("shell", "-c", SEED).split()[-1])
    server.start()
    yield server
    server.stop()


def test_every_scheduling_page_in_korean_under_the_policy(server, chromium_path):
    from playwright.sync_api import sync_playwright

    pages = [
        ("schedules", "/admin/scheduling/schedule/", "#result_list"),
        ("schedule", f"/admin/scheduling/schedule/{server.schedule_id}/change/", "#content"),
        ("week", "/admin/scheduling/schedule/week/", "#content"),
        ("report", "/admin/scheduling/schedule/report/", "#content"),
        ("kpis", "/admin/scheduling/schedule/kpis/", "#content svg"),
        ("calendars", "/admin/scheduling/schedule/calendars/", "#content"),
        # The assignee's own notification settings (broadcastops/notify; "op" is an Operator:
        # everyone's settings are for Admins).
        ("my-notifications", "/admin/notify/notifyprofile/mine/", "#content form"),
    ]
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
            seen = {}
            for name, path, ready in pages:
                response = page.goto(server.url + path)
                assert response is not None and response.status == 200, (name, response)
                page.wait_for_selector(ready, timeout=15000)
                if SCREENSHOTS:
                    page.screenshot(
                        path=os.path.join(SCREENSHOTS, f"{name}-ko.png"), full_page=True
                    )
                assert csp_violations(page) == [], (name, csp_violations(page))
                text = page.inner_text("#content")
                left = [word for word in ENGLISH if word in text]
                assert left == [], (name, left)
                seen[name] = (text, page.evaluate(LAYOUT))
                if name == "schedules":  # its times on one line each
                    heights = page.evaluate(ONE_LINE)
                    assert heights and max(heights) < 24, heights
                if name == "schedule":  # the steps without a caption repeated above each
                    assert page.locator("#steps-group td.original p").first.is_hidden()
                assert seen[name][1]["overflow"] <= 0, (name, seen[name][1])
            assert "KBO 중계" in seen["schedules"][0]
            assert "01:30 (+1일)" in seen["schedules"][0]  # the show past midnight
            assert "방송 전 점검 (T-2시간)" in seen["schedule"][0]  # its steps
            assert "KBO 중계" in seen["week"][0]
            kpi_text, kpi_layout = seen["kpis"]
            assert "가용성" in kpi_text and "페일오버" in kpi_text
            assert kpi_layout["svgs"] >= 5 and kpi_layout["bars"] >= 5, kpi_layout
            assert "페일오버" in seen["report"][0] or "장애" in seen["report"][0]
            assert "Slack 멤버 ID" in seen["my-notifications"][0]
            assert "이메일 주소" in seen["my-notifications"][0]
        finally:
            browser.close()
