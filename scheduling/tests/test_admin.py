"""The schedules in the console: list and filters, the add form's refusals beside the fields
(never a 500, nothing written), a schedule's page with its steps, cancel, the week view."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from broadcastops.inventory.models import LiveChannel
from scheduling.models import Schedule
from scheduling.services import schedule_create
from scheduling.tests.conftest import KBO3

pytestmark = pytest.mark.django_db
LIST = "/admin/scheduling/schedule/"


@pytest.fixture
def channel(db):
    return LiveChannel.objects.create(cloud_id=KBO3, name="channel-kbo-003", state="IDLE")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _form(channel, start, hours=3, **extra):
    local = timezone.localtime(start)
    end = timezone.localtime(start + timedelta(hours=hours))
    data = {
        "title": "KBO LG vs Doosan",
        "channel": channel.pk,
        "starts_at_0": local.strftime("%Y-%m-%d"),
        "starts_at_1": local.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
        "auto_start": "on",
        "notes": "",
        "steps-TOTAL_FORMS": "0",
        "steps-INITIAL_FORMS": "0",
    }
    data.update(extra)
    return data


def test_an_operator_adds_a_schedule_and_sees_its_steps(operator, channel):
    client = _client(operator)
    start = timezone.now() + timedelta(hours=4)
    response = client.post(f"{LIST}add/", _form(channel, start))
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = Schedule.objects.get()
    assert schedule.steps.count() == 4 and schedule.created_by == operator
    page = client.get(f"{LIST}{schedule.pk}/change/").content.decode()
    assert "check_2h" not in page  # labels, not codes
    assert "Pre-air check (T-2 h)" in page and "Start" in page


@pytest.mark.parametrize(
    ("hours", "start_in_h", "words"),
    [(0, 4, "zero length"), (3, -5, "in the past")],
)
def test_a_refused_schedule_is_shown_beside_the_form_and_nothing_is_written(
    operator, channel, hours, start_in_h, words
):
    client = _client(operator)
    start = timezone.now() + timedelta(hours=start_in_h)
    response = client.post(f"{LIST}add/", _form(channel, start, hours=hours))
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not Schedule.objects.exists()


def test_an_overlap_in_the_form_names_the_other_schedule(operator, channel):
    start = timezone.now() + timedelta(hours=4)
    schedule_create(
        title="Shopping live", channel=channel, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    response = _client(operator).post(f"{LIST}add/", _form(channel, start + timedelta(hours=1)))
    assert response.status_code == 200 and "Shopping live" in response.content.decode()
    assert Schedule.objects.count() == 1


def test_a_weekly_repeat_from_the_form_creates_each_occurrence(operator, channel):
    start = timezone.now() + timedelta(hours=4)
    local = timezone.localtime(start).date()
    data = _form(
        channel,
        start,
        repeat_weekdays=[str(d) for d in range(7)],
        repeat_until=(local + timedelta(days=2)).isoformat(),
    )
    response = _client(operator).post(f"{LIST}add/", data)
    assert response.status_code == 302
    assert Schedule.objects.count() == 3


def test_the_list_filters_and_cancel_calls_the_service(operator, viewer, channel):
    start = timezone.now() + timedelta(hours=4)
    schedule = schedule_create(
        title="KBO", channel=channel, starts_at=start, ends_at=start + timedelta(hours=1)
    ).schedules[0]
    client = _client(operator)
    listed = client.get(LIST, {"status__exact": "scheduled", "channel__id__exact": channel.pk})
    assert listed.status_code == 200 and "KBO" in listed.content.decode()
    assert "KBO" not in client.get(LIST, {"status__exact": "completed"}).content.decode()
    response = client.post(
        LIST, {"action": "cancel_schedules", "_selected_action": [schedule.pk]}, follow=True
    )
    assert response.status_code == 200
    schedule.refresh_from_db()
    assert schedule.status == "cancelled"
    # A Viewer reads the list but may not add.
    assert _client(viewer).get(LIST).status_code == 200
    assert _client(viewer).get(f"{LIST}add/").status_code == 403


def test_the_week_view_shows_each_channel_by_day_with_gaps(operator, channel):
    base = timezone.localtime(timezone.now() + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    schedule_create(
        title="Morning show", channel=channel, starts_at=base, ends_at=base + timedelta(hours=2)
    )
    schedule_create(
        title="Afternoon show",
        channel=channel,
        starts_at=base + timedelta(hours=4),
        ends_at=base + timedelta(hours=5),
    )
    page = _client(operator).get(f"{LIST}week/", {"start": base.date().isoformat()})
    body = page.content.decode()
    assert page.status_code == 200
    assert "channel-kbo-003" in body and "Morning show" in body and "Afternoon show" in body
    assert "free 12:00 to 14:00" in body
    assert _client(operator).get(f"{LIST}week/", {"start": "nonsense"}).status_code == 200
