"""The daily report: a day with a failover and an incident shows both with their times, in
the command (text, Markdown, JSON), the API, the console page and the Slack post."""

import json
from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from broadcastops.inventory.models import ChannelStatus, FailoverEvent, LiveChannel
from broadcastops.notify.models import Notification
from scheduling.models import Schedule
from scheduling.reports import daily_report_get
from scheduling.services import daily_report_post
from scheduling.tests.conftest import KBO3, NEWS2
from scheduling.tests.helpers import deliver_all

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")
DAY = date(2026, 12, 1)


def _at(hh: int, mm: int, ss: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SEOUL)


def _status(channel, at, health, state="RUNNING", active="MAIN"):
    ChannelStatus.objects.create(
        channel=channel, at=at, state=state, active_input=active, health=health
    )


@pytest.fixture
def day(db):
    kbo = LiveChannel.objects.create(cloud_id=KBO3, name="channel-kbo-003", state="IDLE")
    news = LiveChannel.objects.create(cloud_id=NEWS2, name="channel-news-002", state="IDLE")
    Schedule.objects.create(
        title="KBO LG vs Doosan",
        channel=kbo,
        starts_at=_at(19, 0),
        ends_at=_at(22, 0),
        status=Schedule.Status.COMPLETED,
        on_air_at=_at(19, 0, 5),
        off_air_at=_at(22, 0, 5),  # 3 h
    )
    Schedule.objects.create(
        title="Shopping live",
        channel=news,
        starts_at=_at(14, 0),
        ends_at=_at(15, 0),
        status=Schedule.Status.INTERRUPTED,
        on_air_at=_at(14, 0),
        off_air_at=_at(14, 30),  # 30 min
    )
    Schedule.objects.create(  # cancelled: not a broadcast
        title="Cancelled",
        channel=news,
        starts_at=_at(16, 0),
        ends_at=_at(17, 0),
        status=Schedule.Status.CANCELLED,
    )
    Schedule.objects.create(  # the next local day (15:30 UTC on the 1st): not in the report
        title="Tomorrow",
        channel=kbo,
        starts_at=_at(0, 30, day=DAY + timedelta(days=1)),
        ends_at=_at(1, 30, day=DAY + timedelta(days=1)),
    )
    FailoverEvent.objects.create(
        channel=kbo, pipeline=0, kind="failover", source="log", occurred_at=_at(19, 15, 23)
    )
    FailoverEvent.objects.create(
        channel=kbo, pipeline=0, kind="recover", source="log", occurred_at=_at(19, 20, 0)
    )
    # News was off air from 14:30:00 and back at 14:41:30; KBO down from the evening before.
    _status(news, _at(14, 0), "green")
    _status(news, _at(14, 30), "red")
    _status(news, _at(14, 41, 30), "green")
    _status(kbo, _at(23, 50, day=DAY - timedelta(days=1)), "red")
    _status(kbo, _at(0, 5), "green")
    _status(kbo, _at(23, 0, day=DAY - timedelta(days=2)), "green")
    return kbo, news


def test_a_day_with_a_failover_and_an_incident_shows_both_with_their_times(day):
    report = daily_report_get(day=DAY)
    assert [b.title for b in report.broadcasts] == ["Shopping live", "KBO LG vs Doosan"]
    assert (report.completed, report.interrupted) == (1, 1)
    (failover,) = report.failovers
    assert failover.channel == "channel-kbo-003" and failover.at == _at(19, 15, 23)
    news_down, kbo_down = sorted(report.incidents, key=lambda i: i.channel, reverse=True)
    assert news_down.channel == "channel-news-002"
    assert (news_down.down_at, news_down.recovered_at) == (_at(14, 30), _at(14, 41, 30))
    assert news_down.down_s == 690
    assert kbo_down.down_at == _at(23, 50, day=DAY - timedelta(days=1)) and kbo_down.down_s == 900
    assert report.total_on_air_s == 3 * 3600 + 1800 and report.average_on_air_s == 6300

    out = StringIO()
    call_command("daily_report", "--date", "2026-12-01", stdout=out)
    text = out.getvalue()
    assert "19:15:23 channel-kbo-003" in text
    assert "14:30:00" in text and "14:41:30" in text and "11 min 30 s" in text
    assert "2025-11-30" not in text and "2026-11-30 23:50:00" in text

    out = StringIO()
    call_command("daily_report", "--date", "2026-12-01", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["failovers"][0]["at"] == "2026-12-01T19:15:23+09:00"
    assert data["incidents"][1]["recovered_at"] == "2026-12-01T14:41:30+09:00"

    out = StringIO()
    call_command("daily_report", "--date", "2026-12-01", "--format", "markdown", stdout=out)
    assert out.getvalue().startswith("# ") and "\n## " in out.getvalue()


def test_a_report_takes_a_fixed_number_of_queries(day):
    with CaptureQueriesContext(connection) as few:
        daily_report_get(day=DAY)
    for n in range(30):
        Schedule.objects.create(
            title=f"show {n}", channel=day[0], starts_at=_at(1, n), ends_at=_at(1, n, 30)
        )
        _status(day[1], _at(2, n), "red" if n % 2 else "green")
    with CaptureQueriesContext(connection) as many:
        daily_report_get(day=DAY)
    assert len(many) == len(few) <= 6


def test_a_bad_date_is_refused_clearly(day, viewer_client, admin_user):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("daily_report", "--date", "2026-13-45")
    response = viewer_client.get("/api/v1/reports/daily", {"date": "yesterday"})
    assert response.status_code == 400
    assert response.json()["code"] and "YYYY-MM-DD" in response.json()["message"]
    client = Client()
    client.force_login(admin_user)
    assert client.get("/admin/scheduling/schedule/report/?date=2026-02-30").status_code == 400


def test_the_api_gives_the_day_to_viewers_only(day, viewer_client, api_client):
    assert api_client.get("/api/v1/reports/daily", {"date": "2026-12-01"}).status_code in (401, 403)
    body = viewer_client.get("/api/v1/reports/daily", {"date": "2026-12-01"}).json()
    assert body["day"] == "2026-12-01" and len(body["failovers"]) == 1
    assert body["incidents"][1]["down_s"] == 690


def test_the_console_page_in_korean(day, viewer):
    client = Client(headers={"accept-language": "ko"})
    client.force_login(viewer)
    page = client.get("/admin/scheduling/schedule/report/?date=2026-12-01").content.decode()
    assert "19:15:23 channel-kbo-003" in page and "14:41:30" in page
    assert "일일" in page  # the Korean title


def test_the_report_is_posted_to_slack_once_per_day(day, slack):
    first = daily_report_post(day=DAY)
    assert daily_report_post(day=DAY).pk == first.pk  # a second beat: counted, not sent
    deliver_all()
    (posted,) = slack.received
    assert "19:15:23" in str(posted["blocks"]) and "14:41:30" in str(posted["blocks"])
    assert Notification.objects.get().status == Notification.Status.SENT
