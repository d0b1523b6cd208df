"""KPIs over a period, per channel and overall, from the status history: the numbers, a
fixed query count, the API's refusals, the console page with its SVG charts."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from broadcastops.actions.models import OperatorAction
from broadcastops.inventory.models import ChannelStatus, FailoverEvent, LiveChannel
from scheduling.kpis import kpis_get
from scheduling.models import Schedule
from scheduling.reports import day_bounds
from scheduling.tests.conftest import KBO3, NEWS2

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")
DAY = date(2026, 12, 1)


def _at(hh, mm, ss=0, day=DAY):
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SEOUL)


def _status(channel, at, state, active, health):
    ChannelStatus.objects.create(
        channel=channel, at=at, state=state, active_input=active, health=health
    )


def _action(channel, kind, origin, at):
    row = OperatorAction.objects.create(
        actor_name="x",
        action=kind,
        origin=origin,
        target_type="channel",
        target_id=channel.cloud_id,
        status="succeeded",
    )
    OperatorAction.objects.filter(pk=row.pk).update(created_at=at)


@pytest.fixture
def history(db):
    kbo = LiveChannel.objects.create(cloud_id=KBO3, name="channel-kbo-003", state="IDLE")
    news = LiveChannel.objects.create(cloud_id=NEWS2, name="channel-news-002", state="IDLE")
    Schedule.objects.create(
        title="KBO",
        channel=kbo,
        starts_at=_at(19, 0),
        ends_at=_at(22, 0),
        status=Schedule.Status.COMPLETED,
    )
    Schedule.objects.create(
        title="Shopping",
        channel=news,
        starts_at=_at(14, 0),
        ends_at=_at(15, 0),
        status=Schedule.Status.INTERRUPTED,
    )
    _status(kbo, _at(18, 59), "RUNNING", "MAIN", "green")
    _status(kbo, _at(19, 15, 23), "RUNNING", "BACKUP", "amber")  # 277 s on BACKUP
    _status(kbo, _at(19, 20), "RUNNING", "MAIN", "green")
    _status(kbo, _at(21, 0), "RUNNING", "MAIN", "red")  # off air for 10 min
    _status(kbo, _at(21, 10), "RUNNING", "MAIN", "green")
    _status(kbo, _at(22, 1), "IDLE", "MAIN", "idle")
    _status(news, _at(14, 0), "RUNNING", "MAIN", "green")
    _status(news, _at(14, 30), "IDLE", "MAIN", "idle")  # stopped half-way
    FailoverEvent.objects.create(
        channel=kbo, pipeline=0, kind="failover", source="log", occurred_at=_at(19, 15, 23)
    )
    _action(kbo, "channel.scheduled_start", "schedule", _at(19, 0))
    _action(kbo, "channel.stop", "schedule", _at(22, 0))
    _action(news, "channel.start", "admin", _at(13, 59))
    return kbo, news


def _day():
    return day_bounds(DAY)


def test_the_kpis_of_a_day_per_channel_and_overall(history):
    report = kpis_get(starts=_day()[0], ends=_day()[1])
    kbo, news = report.channels
    assert kbo.channel == "channel-kbo-003"
    assert kbo.scheduled_s == 10800 and kbo.on_air_in_schedule_s == 10200
    assert kbo.availability == round(10200 / 10800, 4)
    assert (kbo.failovers, kbo.broadcasts, kbo.failover_rate) == (1, 1, 1.0)
    assert (kbo.incidents, kbo.mttr_s) == (1, 600)
    assert (kbo.automatic, kbo.starts_stops, kbo.automation_rate) == (2, 2, 1.0)
    assert (kbo.running_s, kbo.main_s) == (10920, 10920 - 277)
    assert news.availability == 0.5 and news.failover_rate == 0.0
    assert news.automation_rate == 0.0 and news.main_stability == 1.0
    overall = report.overall
    assert overall.availability == round(12000 / 14400, 4)
    assert overall.failover_rate == 0.5 and overall.mttr_s == 600
    assert overall.automation_rate == round(2 / 3, 4)
    assert overall.main_stability == round((10643 + 1800) / 12720, 4)


def test_the_kpis_take_a_fixed_number_of_queries(history):
    kbo, news = history
    with CaptureQueriesContext(connection) as few:
        kpis_get(starts=_day()[0], ends=_day()[1])
    for n in range(40):
        _status(news, _at(1, n), "RUNNING", "MAIN" if n % 2 else "BACKUP", "green")
        Schedule.objects.create(
            title=f"s{n}", channel=kbo, starts_at=_at(2, n), ends_at=_at(2, n, 30)
        )
    with CaptureQueriesContext(connection) as many:
        kpis_get(starts=_day()[0], ends=_day()[1])
    assert len(many) == len(few) <= 9


def test_the_api(history, viewer_client, api_client):
    url = "/api/v1/kpis"
    assert api_client.get(url).status_code in (401, 403)
    body = viewer_client.get(url, {"from": "2026-12-01", "to": "2026-12-01"}).json()
    assert body["from"] == "2026-12-01T00:00:00+09:00" and body["to"] == "2026-12-02T00:00:00+09:00"
    assert body["overall"]["mttr_s"] == 600 and len(body["channels"]) == 2
    for bad in (
        {"from": "yesterday"},
        {"from": "2026-12-02", "to": "2026-12-01"},
        {"from": "2020-01-01", "to": "2026-12-01"},
    ):
        response = viewer_client.get(url, bad)
        assert response.status_code == 400 and response.json()["message"], bad


def test_the_console_page_shows_numbers_svg_charts_and_definitions(history, viewer):
    client = Client(headers={"accept-language": "ko"})
    client.force_login(viewer)
    response = client.get("/admin/scheduling/schedule/kpis/?from=2026-12-01&to=2026-12-01")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<svg") >= 5 and "94.4%" in page and "10분 00초" in page
    assert "가용성" in page  # "Availability", with its definition beside it
    assert "<script>" not in page.split("<svg", 1)[1] and " style=" not in page.split("<svg", 1)[1]
    assert (
        client.get("/admin/scheduling/schedule/kpis/?from=2026-12-05&to=2026-12-01").status_code
        == 400
    )
