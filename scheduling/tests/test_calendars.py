"""iCalendar feeds behind a per-user secret URL: the operator's own assignments and one
channel's schedules; a wrong, revoked or inactive user's URL is a 404; rotating revokes."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from broadcastops.inventory.models import LiveChannel
from scheduling.calendars import calendar_links
from scheduling.models import Schedule
from scheduling.tests.conftest import KBO3, NEWS2

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedules(db, operator, viewer):
    kbo = LiveChannel.objects.create(cloud_id=KBO3, name="channel-kbo-003", state="IDLE")
    news = LiveChannel.objects.create(cloud_id=NEWS2, name="channel-news-002", state="IDLE")
    soon = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    mine = Schedule.objects.create(
        title="KBO LG vs Doosan",
        channel=kbo,
        starts_at=soon,
        ends_at=soon + timedelta(hours=3),
        assignee=operator,
        notes="Check the MAIN encoder",
    )
    other = Schedule.objects.create(
        title="Shopping live",
        channel=news,
        starts_at=soon,
        ends_at=soon + timedelta(hours=1),
        assignee=viewer,
    )
    return mine, other


def _events(body: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_the_operator_feed_lists_their_own_assignments(schedules, operator):
    mine, _other = schedules
    links = calendar_links(user=operator)
    response = Client().get(links["operator"])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    events = _events(response.content)
    assert list(events) == [f"schedule-{mine.pk}@broadcastops"]
    event = events[f"schedule-{mine.pk}@broadcastops"]
    assert event.decoded("dtstart") == mine.starts_at
    assert "KBO LG vs Doosan" in str(event["summary"])


def test_a_channel_feed_lists_the_channels_schedules(schedules, operator):
    _mine, other = schedules
    path = dict(calendar_links(user=operator)["channels"])["channel-news-002"]
    events = _events(Client().get(path).content)
    assert list(events) == [f"schedule-{other.pk}@broadcastops"]


def test_wrong_revoked_and_inactive_urls_are_404(schedules, operator, viewer):
    path = calendar_links(user=operator)["operator"]
    wrong = path.replace(f"/calendars/{operator.pk}/", f"/calendars/{viewer.pk}/")
    assert Client().get(wrong).status_code == 404  # another user's id with this secret
    assert Client().get(path[:-12] + "0" * 8 + "/mine.ics").status_code == 404
    client = Client()
    client.force_login(operator)
    page = client.get("/admin/scheduling/schedule/calendars/")
    assert path in page.content.decode()
    client.post("/admin/scheduling/schedule/calendars/")  # a new secret
    assert Client().get(path).status_code == 404
    fresh = calendar_links(user=operator)["operator"]
    assert fresh != path and Client().get(fresh).status_code == 200
    operator.is_active = False
    operator.save()
    assert Client().get(fresh).status_code == 404


def test_a_wrong_secret_costs_one_query(schedules, operator, django_assert_max_num_queries):
    path = calendar_links(user=operator)["operator"]
    bad = path.replace("/mine.ics", "x/mine.ics")
    with django_assert_max_num_queries(1):
        assert Client().get(bad).status_code == 404
