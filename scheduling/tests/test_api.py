"""The schedules' REST API: create by cloud id or name, refusals as {code, message, detail},
roles, the lists, update and cancel."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcastops.inventory.models import LiveChannel
from scheduling.models import Schedule
from scheduling.tests.conftest import KBO3, NEWS2

pytestmark = pytest.mark.django_db
URL = "/api/v1/schedules/"


@pytest.fixture
def channels(db):
    return (
        LiveChannel.objects.create(cloud_id=KBO3, name="channel-kbo-003", state="IDLE"),
        LiveChannel.objects.create(cloud_id=NEWS2, name="channel-news-002", state="IDLE"),
    )


def _body(**kw):
    start = timezone.now() + timedelta(hours=3)
    body = {
        "title": "KBO LG vs Doosan",
        "channel": KBO3,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "auto_start": True,
    }
    body.update(kw)
    return body


def test_an_operator_creates_by_cloud_id_or_name_and_reads_it_back(operator_client, channels):
    created = operator_client.post(URL, _body(), format="json")
    assert created.status_code == 201, created.json()
    (schedule,) = created.json()["schedules"]
    assert schedule["channel_id"] == KBO3 and schedule["auto_start"] is True
    assert [s["kind"] for s in schedule["steps"]] == ["check_2h", "check_30m", "start", "stop"]
    by_name = operator_client.post(URL, _body(channel="channel-news-002"), format="json")
    assert by_name.status_code == 201
    assert by_name.json()["schedules"][0]["channel_id"] == NEWS2
    detail = operator_client.get(f"{URL}{schedule['id']}/").json()
    assert detail["title"] == "KBO LG vs Doosan"


def test_naive_times_are_read_in_seoul(operator_client, channels):
    body = _body(starts_at="2031-03-01T19:00:00", ends_at="2031-03-01T22:00:00")
    created = operator_client.post(URL, body, format="json").json()["schedules"][0]
    assert created["starts_at"].startswith("2031-03-01T19:00:00+09:00")
    assert Schedule.objects.get().starts_at.hour == 10  # stored UTC


@pytest.mark.parametrize(
    ("change", "status", "code", "words"),
    [
        ({"channel": "no-such-channel"}, 400, "unknown_channel", "no-such-channel"),
        ({"ends_at": "2020-01-01T00:00:00+09:00"}, 400, "invalid", "before the start"),
        ({"starts_at": "2020-01-01T00:00:00+09:00"}, 400, "invalid", "in the past"),
        ({"starts_at": "soon"}, 400, "invalid", "not valid"),
        ({"title": ""}, 400, "invalid", "not valid"),
        ({"assignee": "nobody-here"}, 400, "invalid", "nobody-here"),
        ({"repeat": {"weekdays": [], "until": "2031-01-01"}}, 400, "invalid", "not valid"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    operator_client, channels, change, status, code, words
):
    response = operator_client.post(URL, _body(**change), format="json")
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == code
    assert words in body["message"] or words in str(body["detail"])
    assert not Schedule.objects.exists()


def test_an_overlap_is_409_and_names_the_other(operator_client, channels):
    operator_client.post(URL, _body(), format="json")
    again = operator_client.post(URL, _body(title="Shopping"), format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "overlap"
    assert "KBO LG vs Doosan" in again.json()["message"]


def test_viewers_read_but_do_not_write_and_anonymous_is_refused(
    viewer_client, api_client, channels
):
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.post(URL, _body(), format="json").status_code == 403
    assert api_client.get(URL).status_code == 401
    assert not Schedule.objects.exists()


def test_the_list_covers_the_days_asked_and_upcoming_what_airs_next(operator_client, channels):
    soon = operator_client.post(URL, _body(), format="json").json()["schedules"][0]
    far = timezone.now() + timedelta(days=10)
    operator_client.post(
        URL,
        _body(
            title="Far", starts_at=far.isoformat(), ends_at=(far + timedelta(hours=1)).isoformat()
        ),
        format="json",
    )
    week = operator_client.get(URL, {"days": 7}).json()
    assert [s["title"] for s in week["results"]] == ["KBO LG vs Doosan"]
    month = operator_client.get(URL, {"days": 30}).json()
    assert [s["title"] for s in month["results"]] == ["KBO LG vs Doosan", "Far"]
    assert operator_client.get(URL, {"days": "x"}).status_code == 400
    assert operator_client.get(URL, {"days": 0}).status_code == 400
    assert operator_client.get(URL, {"status": "bogus"}).status_code == 400
    upcoming = operator_client.get(f"{URL}upcoming/").json()
    assert upcoming[0]["id"] == soon["id"]


def test_the_list_reads_a_fixed_number_of_queries(operator_client, channels):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(URL, {"days": 60}).status_code == 200
        return len(queries)

    start = timezone.now() + timedelta(hours=3)
    for n in range(3):
        s = start + timedelta(days=n)
        operator_client.post(
            URL,
            _body(starts_at=s.isoformat(), ends_at=(s + timedelta(hours=1)).isoformat()),
            format="json",
        )
    few = count()
    for n in range(3, 12):
        s = start + timedelta(days=n)
        operator_client.post(
            URL,
            _body(starts_at=s.isoformat(), ends_at=(s + timedelta(hours=1)).isoformat()),
            format="json",
        )
    assert count() == few


def test_update_moves_and_cancel_cancels(operator_client, channels):
    schedule = operator_client.post(URL, _body(), format="json").json()["schedules"][0]
    later = timezone.now() + timedelta(hours=5)
    moved = operator_client.patch(
        f"{URL}{schedule['id']}/",
        {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    steps = {s["kind"]: s for s in moved.json()["schedules"][0]["steps"]}
    assert steps["start"]["due_at"] == moved.json()["schedules"][0]["starts_at"]
    assert operator_client.patch(f"{URL}{schedule['id']}/", {}, format="json").status_code == 400
    cancelled = operator_client.post(f"{URL}{schedule['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert {s["state"] for s in cancelled.json()["steps"]} == {"cancelled"}
    again = operator_client.post(f"{URL}{schedule['id']}/cancel")
    assert again.status_code == 409 and "nothing to cancel" in again.json()["message"]
    assert operator_client.get(f"{URL}999999/").status_code == 404
