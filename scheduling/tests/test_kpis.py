"""KPIs over a period, per channel and overall, from the status history: the numbers, a
fixed query count, the API's refusals, the console page with its SVG charts."""

import random
from datetime import date, datetime, timedelta
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


# --- the SQL sums against a straightforward reference ---------------------------------------
def _reference(starts, ends):
    """The KPIs' time spans computed the plain way, in Python with exact timedeltas: per
    channel, the status rows led by the last one before ``starts`` (each in force until the
    next, the last until ``ends``, clipped to the period), the union of the scheduled windows
    (clipped), and the RED spans walked from the first row (down at the first RED row,
    recovered at the next row that is not RED)."""
    out = {}
    for channel in LiveChannel.objects.all():
        history = list(
            ChannelStatus.objects.filter(channel=channel, at__lt=ends).order_by("at", "pk")
        )
        before = [r for r in history if r.at < starts]
        rows = before[-1:] + [r for r in history if r.at >= starts]
        windows = sorted(
            (max(s.starts_at, starts), min(s.ends_at, ends))
            for s in Schedule.objects.filter(
                channel=channel, starts_at__lt=ends, ends_at__gt=starts
            )
            if s.status != Schedule.Status.CANCELLED
        )
        union = []
        for s, e in windows:
            if union and s <= union[-1][1]:
                union[-1] = (union[-1][0], max(union[-1][1], e))
            else:
                union.append((s, e))
        zero = timedelta(0)
        running = main = in_schedule = zero
        for n, row in enumerate(rows):
            s = max(row.at, starts)
            e = rows[n + 1].at if n + 1 < len(rows) else ends
            if e <= s or row.state != "RUNNING":
                continue
            running += e - s
            if row.active_input == "MAIN":
                main += e - s
            if row.health != "red":
                for ws, we in union:
                    in_schedule += max(zero, min(e, we) - max(s, ws))
        recovered, down = [], None
        for row in rows:
            if row.health == "red":
                down = down or row.at
            elif down is not None:
                if row.at >= starts:
                    recovered.append(int((row.at - down).total_seconds()))
                down = None
        scheduled = sum((e - s for s, e in union), zero)
        out[channel.name] = {
            "scheduled_s": int(scheduled.total_seconds()),
            "on_air_in_schedule_s": int(in_schedule.total_seconds()),
            "running_s": int(running.total_seconds()),
            "main_s": int(main.total_seconds()),
            "incidents": len(recovered),
            "mttr_s": sum(recovered) // len(recovered) if recovered else None,
        }
    return out


def _random_history(rng, channels):
    """Status rows (microsecond times) over three days around DAY, schedules crossing the
    day's edges, overlapping ones (written directly, as old data might be) and cancelled
    ones; RED spans that cross the day's start and end."""
    start = _at(0, 0) - timedelta(days=1)
    for channel in channels:
        moment = start + timedelta(seconds=rng.randint(0, 3600))
        while moment < start + timedelta(days=3):
            _status(
                channel,
                moment + timedelta(microseconds=rng.randint(0, 999_999)),
                rng.choice(("RUNNING", "RUNNING", "RUNNING", "IDLE", "STARTING")),
                rng.choice(("MAIN", "MAIN", "BACKUP")),
                rng.choice(("green", "green", "amber", "red", "red", "idle")),
            )
            moment += timedelta(seconds=rng.randint(60, 4 * 3600))
        for _ in range(8):
            s = start + timedelta(
                seconds=rng.randint(0, 3 * 86400), microseconds=rng.randint(0, 999_999)
            )
            Schedule.objects.create(
                title="r",
                channel=channel,
                starts_at=s,
                ends_at=s + timedelta(seconds=rng.randint(600, 10 * 3600)),
                status=rng.choice(list(Schedule.Status.values)),
            )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_sql_sums_equal_the_reference_computation(history, seed):
    rng = random.Random(seed)
    _random_history(
        rng, [*history, LiveChannel.objects.create(cloud_id="X1", name="x1", state="IDLE")]
    )
    # The day's edges cut through status spans, schedules and RED spans; so do odd periods.
    periods = [_day(), (_at(13, 17, 5), _at(20, 3, 7, day=date(2026, 12, 2)))]
    periods.append((_at(6, 0) + timedelta(microseconds=123457), _at(6, 0) + timedelta(hours=1)))
    for starts, ends in periods:
        report = kpis_get(starts=starts, ends=ends)
        reference = _reference(starts, ends)
        got = {
            k.channel: {key: getattr(k, key) for key in next(iter(reference.values()))}
            for k in report.channels
        }
        expected = {name: values for name, values in reference.items() if name in got}
        assert got == expected, (seed, starts, ends)
        # A channel the report leaves out had nothing to count.
        for name in set(reference) - set(got):
            assert not any(reference[name].values()), (name, reference[name])
        total = {
            key: sum(v[key] or 0 for v in reference.values())
            for key in ("scheduled_s", "running_s", "main_s")
        }
        # The overall row sums the exact per-channel times (then whole seconds).
        assert abs(report.overall.scheduled_s - total["scheduled_s"]) <= len(reference)
        assert abs(report.overall.running_s - total["running_s"]) <= len(reference)


def test_an_incident_crossing_the_period_counts_where_it_recovered(history):
    kbo, _news = history
    _status(kbo, _at(23, 50), "RUNNING", "MAIN", "red")
    _status(kbo, _at(0, 20, day=date(2026, 12, 2)), "RUNNING", "MAIN", "green")
    day = kpis_get(starts=_day()[0], ends=_day()[1]).channels[0]
    assert (day.incidents, day.mttr_s) == (1, 600)  # 21:00-21:10 only: the other is open
    after = day_bounds(date(2026, 12, 2))
    next_day = kpis_get(starts=after[0], ends=after[1]).channels[0]
    assert (next_day.incidents, next_day.mttr_s) == (1, 1800)  # down at 23:50 the day before


def test_a_period_with_no_history_has_no_rows(db):
    report = kpis_get(starts=_day()[0], ends=_day()[1])
    assert report.channels == [] and report.overall.availability is None
