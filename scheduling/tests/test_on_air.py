"""The show on air on a player's stream, asked as errorlogs asks it
(``broadcastops.on_air.on_air_lookup``, answered by scheduling through
``registry.ON_AIR_LOOKUP``): the stream's channel from ``PlayerStream``, the schedule on
air then, one query; the mapping edited in the admin."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcastops import registry
from broadcastops.inventory.models import LiveChannel
from broadcastops.on_air import OnAir, on_air_lookup
from scheduling.models import PlayerStream, Schedule
from scheduling.selectors import on_air_for_stream

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def shows(db):
    kbo = LiveChannel.objects.create(cloud_id="C-KBO", name="channel-kbo-003", state="RUNNING")
    news = LiveChannel.objects.create(cloud_id="C-NEWS", name="channel-news-002", state="IDLE")
    PlayerStream.objects.create(channel=kbo, stream_path="live/kbo")  # any server
    PlayerStream.objects.create(channel=news, stream_path="live/kbo", host="edge2.example:8889")
    game = Schedule.objects.create(
        title="KBO LG vs Doosan",
        channel=kbo,
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(hours=2),
        status=Schedule.Status.ON_AIR,
    )
    bulletin = Schedule.objects.create(
        title="Evening news",
        channel=news,
        starts_at=NOW - timedelta(minutes=10),
        ends_at=NOW + timedelta(minutes=20),
        status=Schedule.Status.ON_AIR,
    )
    Schedule.objects.create(  # cancelled: never on air
        title="Rain delay special",
        channel=kbo,
        starts_at=NOW + timedelta(hours=3),
        ends_at=NOW + timedelta(hours=4),
        status=Schedule.Status.CANCELLED,
    )
    return game, bulletin


def test_scheduling_answers_the_core_lookup_with_the_show_on_air(shows):
    game, _bulletin = shows
    assert on_air_for_stream in registry.ON_AIR_LOOKUP.all()  # registered by the app
    found = on_air_lookup(stream_id="live/kbo", host="edge1.example:8889", at=NOW)
    assert found == OnAir(
        title="KBO LG vs Doosan",
        schedule_id=str(game.pk),
        starts_at=game.starts_at,
        ends_at=game.ends_at,
        channel="channel-kbo-003",
        url=f"/admin/scheduling/schedule/{game.pk}/change/",
    )


def test_the_servers_own_mapping_wins_over_the_any_server_one(shows):
    _game, bulletin = shows
    found = on_air_lookup(stream_id="/live/kbo/", host="EDGE2.example:8889", at=NOW)
    assert found is not None and found.schedule_id == str(bulletin.pk)
    assert found.channel == "channel-news-002"


def test_no_show_outside_the_schedules_or_for_an_unknown_stream(shows):
    assert (
        on_air_lookup(stream_id="live/kbo", host="", at=NOW + timedelta(hours=3, minutes=30))
        is None
    )
    assert on_air_lookup(stream_id="live/other", host="", at=NOW) is None
    assert on_air_lookup(stream_id="", host="", at=NOW) is None
    game, _ = shows
    assert on_air_lookup(stream_id="live/kbo", host="", at=game.ends_at) is None  # [start, end)


def test_the_lookup_is_one_query_whatever_the_table(shows):
    kbo = shows[0].channel
    for day in range(1, 60):
        Schedule.objects.create(
            title=f"KBO {day}",
            channel=kbo,
            starts_at=NOW + timedelta(days=day),
            ends_at=NOW + timedelta(days=day, hours=3),
        )
    with CaptureQueriesContext(connection) as queries:
        assert on_air_lookup(stream_id="live/kbo", host="", at=NOW) is not None
    assert len(queries) == 1


def test_an_operator_maps_a_stream_in_the_admin_and_bad_paths_are_refused(shows, operator):
    client = Client(headers={"accept-language": "ko"})
    client.force_login(operator)
    kbo = shows[0].channel
    url = "/admin/scheduling/playerstream/add/"
    bad = client.post(url, {"stream_path": "/live/kbo", "host": "", "channel": kbo.pk})
    assert bad.status_code == 200 and "MediaMTX 경로를 입력하세요" in bad.content.decode()
    upper = client.post(url, {"stream_path": "live/x", "host": "EDGE:1", "channel": kbo.pk})
    assert "소문자" in upper.content.decode()
    taken = client.post(url, {"stream_path": "live/kbo", "host": "", "channel": kbo.pk})
    assert taken.status_code == 200  # the unique (path, host): one channel per stream
    assert PlayerStream.objects.count() == 2
    done = client.post(url, {"stream_path": "live/kbo2", "host": "edge3:8889", "channel": kbo.pk})
    assert done.status_code == 302
    assert (
        on_air_lookup(stream_id="live/kbo2", host="edge3:8889", at=NOW).title == "KBO LG vs Doosan"
    )
    listing = client.get("/admin/scheduling/playerstream/").content.decode()
    assert "live/kbo2" in listing and "모든 서버" in listing
