"""Creating, moving and cancelling schedules: every refusal, repeats, steps, time zones."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from broadcastops.errors import Conflict, ValidationFailed
from broadcastops.inventory.models import LiveChannel
from scheduling.models import Schedule, ScheduleStep
from scheduling.services import WeeklyRule, schedule_cancel, schedule_create, schedule_update
from scheduling.tests.conftest import KBO3, NEWS2, at

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")
Kind = ScheduleStep.Kind
State = ScheduleStep.State


@pytest.fixture
def kbo3(db):
    """Rows only: these rules need no cloud."""
    return LiveChannel.objects.create(cloud_id=KBO3, name="channel-kbo-003", state="IDLE")


@pytest.fixture
def news2(db):
    return LiveChannel.objects.create(cloud_id=NEWS2, name="channel-news-002", state="IDLE")


def _create(channel, **kw):
    args = {
        "title": "KBO LG vs Doosan",
        "channel": channel,
        "starts_at": at(180),
        "ends_at": at(360),
    }
    args.update(kw)
    return schedule_create(**args)


def test_a_schedule_gets_its_four_steps_at_their_times(kbo3):
    result = _create(kbo3)
    schedule = result.schedules[0]
    steps = {s.kind: s for s in schedule.steps.all()}
    assert set(steps) == {Kind.CHECK_2H, Kind.CHECK_30M, Kind.START, Kind.STOP}
    assert steps[Kind.CHECK_2H].due_at == schedule.starts_at - timedelta(hours=2)
    assert steps[Kind.CHECK_30M].due_at == schedule.starts_at - timedelta(minutes=30)
    assert steps[Kind.START].due_at == schedule.starts_at
    assert steps[Kind.STOP].due_at == schedule.ends_at
    assert all(s.state == State.PENDING for s in steps.values())
    assert result.warnings == []


def test_times_entered_in_seoul_are_stored_in_utc(kbo3):
    start = datetime(2031, 3, 1, 19, 0, tzinfo=SEOUL)
    schedule = _create(kbo3, starts_at=start, ends_at=start + timedelta(hours=3)).schedules[0]
    schedule.refresh_from_db()
    assert schedule.starts_at.utcoffset() == timedelta(0)
    assert schedule.starts_at.hour == 10  # 19:00 KST is 10:00 UTC
    assert timezone.localtime(schedule.starts_at).hour == 19


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (180, 120, "is before the start"),
        (180, 180, "zero length"),
        (-60, 30, "in the past"),
    ],
)
def test_bad_times_are_refused_with_a_clear_message_and_nothing_written(kbo3, start, end, message):
    starts_at = at(start)
    ends_at = starts_at + timedelta(minutes=end - start)
    with pytest.raises(ValidationFailed) as refused:
        _create(kbo3, starts_at=starts_at, ends_at=ends_at)
    assert message in str(refused.value.message)
    assert not Schedule.objects.exists() and not ScheduleStep.objects.exists()


def test_an_emergency_may_start_in_the_past_and_starts_at_once(kbo3):
    now = timezone.now()
    schedule = _create(kbo3, starts_at=now - timedelta(minutes=10), ends_at=at(60), allow_past=True)
    steps = {s.kind: s for s in schedule.schedules[0].steps.all()}
    assert steps[Kind.START].state == State.PENDING
    assert abs((steps[Kind.START].due_at - now).total_seconds()) < 5
    assert steps[Kind.CHECK_2H].state == steps[Kind.CHECK_30M].state == State.SKIPPED


def test_a_schedule_an_hour_ahead_is_checked_now_once(kbo3):
    schedule = _create(kbo3, starts_at=at(60), ends_at=at(120)).schedules[0]
    steps = {s.kind: s for s in schedule.steps.all()}
    assert steps[Kind.CHECK_2H].state == State.PENDING
    assert steps[Kind.CHECK_2H].due_at <= timezone.now()
    assert steps[Kind.CHECK_30M].state == State.PENDING
    assert steps[Kind.CHECK_30M].due_at == schedule.starts_at - timedelta(minutes=30)


def test_an_overlap_on_the_same_channel_is_refused_naming_the_other(kbo3, news2):
    first = _create(kbo3).schedules[0]
    with pytest.raises(Conflict) as refused:
        _create(kbo3, title="Shopping", starts_at=at(300), ends_at=at(420))
    assert "KBO LG vs Doosan" in str(refused.value.message)
    assert refused.value.detail["schedule_id"] == first.pk
    assert refused.value.code == "overlap"
    assert Schedule.objects.count() == 1
    # Back to back is not an overlap; another channel at the same time is fine.
    _create(
        kbo3, title="After", starts_at=first.ends_at, ends_at=first.ends_at + timedelta(hours=1)
    )
    _create(news2, title="News")
    # A cancelled schedule no longer blocks its slot.
    schedule_cancel(schedule=first)
    _create(kbo3, title="Replacement", starts_at=first.starts_at, ends_at=first.ends_at)


def test_a_removed_channel_is_refused(kbo3):
    kbo3.removed_at = timezone.now()
    with pytest.raises(ValidationFailed, match="no longer exists"):
        _create(kbo3)


def test_an_assignee_on_two_channels_at_once_is_a_warning_not_a_refusal(kbo3, news2, operator):
    _create(kbo3, assignee=operator)
    result = _create(news2, title="News at nine", assignee=operator)
    assert len(result.schedules) == 1
    assert "also assigned to “KBO LG vs Doosan” on channel-kbo-003" in result.warnings[0]


def test_a_weekly_rule_creates_one_editable_schedule_per_occurrence(kbo3):
    # From a Tuesday (local) at 18:30, on Tuesdays and Thursdays, for two weeks.
    start = datetime(2031, 4, 1, 18, 30, tzinfo=SEOUL)
    assert start.weekday() == 1
    result = _create(
        kbo3,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        repeat=WeeklyRule(weekdays=frozenset({1, 3}), until=date(2031, 4, 14)),
    )
    local = [timezone.localtime(s.starts_at) for s in result.schedules]
    assert [d.day for d in local] == [1, 3, 8, 10]
    assert {(d.hour, d.minute) for d in local} == {(18, 30)}
    assert len({s.series for s in result.schedules}) == 1 and result.schedules[0].series
    assert ScheduleStep.objects.count() == 16
    # Each occurrence is its own: moving one leaves the others.
    second = result.schedules[1]
    schedule_update(schedule=second, changes={"ends_at": second.ends_at + timedelta(hours=1)})
    assert Schedule.objects.get(pk=result.schedules[2].pk).ends_at == result.schedules[2].ends_at


def test_a_weekly_rule_with_one_clashing_occurrence_writes_nothing(kbo3):
    start = datetime(2031, 4, 1, 18, 30, tzinfo=SEOUL)
    clash = datetime(2031, 4, 8, 19, 0, tzinfo=SEOUL)
    _create(kbo3, title="Special", starts_at=clash, ends_at=clash + timedelta(hours=1))
    with pytest.raises(Conflict, match="Special"):
        _create(
            kbo3,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            repeat=WeeklyRule(weekdays=frozenset({1}), until=date(2031, 4, 30)),
        )
    assert Schedule.objects.count() == 1


def test_a_weekly_rule_without_days_or_ending_before_it_starts_is_refused(kbo3):
    start = datetime(2031, 4, 1, 18, 30, tzinfo=SEOUL)
    for rule, message in (
        (WeeklyRule(weekdays=frozenset(), until=date(2031, 5, 1)), "days of the week"),
        (WeeklyRule(weekdays=frozenset({1}), until=date(2031, 3, 1)), "ends before"),
        (WeeklyRule(weekdays=frozenset({9}), until=date(2031, 5, 1)), "days of the week"),
    ):
        with pytest.raises(ValidationFailed, match=message):
            _create(kbo3, starts_at=start, ends_at=start + timedelta(hours=1), repeat=rule)
    assert not Schedule.objects.exists()


def test_moving_a_schedule_moves_its_pending_steps(kbo3):
    schedule = _create(kbo3).schedules[0]
    new_start = schedule.starts_at + timedelta(hours=1)
    schedule_update(
        schedule=schedule,
        changes={"starts_at": new_start, "ends_at": schedule.ends_at + timedelta(hours=1)},
    )
    steps = {s.kind: s for s in schedule.steps.all()}
    assert steps[Kind.START].due_at == new_start
    assert steps[Kind.CHECK_30M].due_at == new_start - timedelta(minutes=30)


def test_moving_into_another_schedule_is_refused(kbo3):
    first = _create(kbo3).schedules[0]
    second = _create(kbo3, title="Later", starts_at=at(400), ends_at=at(460)).schedules[0]
    with pytest.raises(Conflict, match="KBO LG vs Doosan"):
        schedule_update(schedule=second, changes={"starts_at": first.starts_at})
    second.refresh_from_db()
    assert second.starts_at > first.ends_at


def test_moving_an_on_air_schedule_changes_only_its_end(kbo3):
    schedule = _create(kbo3).schedules[0]
    Schedule.objects.filter(pk=schedule.pk).update(status=Schedule.Status.ON_AIR)
    later = schedule.ends_at + timedelta(minutes=30)
    result = schedule_update(
        schedule=schedule,
        changes={"starts_at": schedule.starts_at + timedelta(hours=1), "ends_at": later},
    )
    schedule.refresh_from_db()
    assert schedule.ends_at == later and schedule.starts_at == result.schedules[0].starts_at
    assert "only its end" in result.warnings[0]
    assert schedule.steps.get(kind=Kind.STOP).due_at == later


def test_cancelling_cancels_the_pending_steps_and_an_on_air_one_is_refused(kbo3):
    schedule = _create(kbo3).schedules[0]
    schedule_cancel(schedule=schedule)
    assert set(schedule.steps.values_list("state", flat=True)) == {State.CANCELLED}
    with pytest.raises(Conflict, match="nothing to cancel"):
        schedule_cancel(schedule=schedule)
    other = _create(kbo3, title="Live").schedules[0]
    Schedule.objects.filter(pk=other.pk).update(status=Schedule.Status.ON_AIR)
    with pytest.raises(Conflict, match="on air"):
        schedule_cancel(schedule=other)


def test_the_database_refuses_two_steps_of_one_kind(kbo3):
    from django.db import IntegrityError, transaction

    schedule = _create(kbo3).schedules[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduleStep.objects.create(schedule=schedule, kind=Kind.START, due_at=schedule.starts_at)
