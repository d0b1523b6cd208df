"""A busy tick: its claims are one compare-and-set statement whatever their number, a step
taken meanwhile by another beat is not claimed twice, and the claimed steps travel to the
workers in one task per ``SCHEDULING_STEPS_PER_TASK`` ids (their runs each still take their
step by compare-and-set, so a duplicate message does nothing)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcastops.inventory.models import LiveChannel
from scheduling.models import Schedule, ScheduleStep
from scheduling.services import schedule_steps_run, schedule_tick
from scheduling.services.automation import _claim
from scheduling.tasks import schedule_steps_run_task

pytestmark = pytest.mark.django_db
State = ScheduleStep.State


def _due(n: int, now):
    """``n`` schedules without auto start whose start step is due now."""
    steps = []
    first = LiveChannel.objects.count()
    for i in range(first, first + n):
        channel = LiveChannel.objects.create(cloud_id=f"tick-{i}", name=f"tick-{i}", state="IDLE")
        schedule = Schedule.objects.create(
            title=f"show {i}",
            channel=channel,
            starts_at=now - timedelta(seconds=5),
            ends_at=now + timedelta(hours=1),
            status=Schedule.Status.CHECKING,
        )
        steps.append(
            ScheduleStep.objects.create(
                schedule=schedule, kind=ScheduleStep.Kind.START, due_at=schedule.starts_at
            )
        )
    return [s.pk for s in steps]


@pytest.fixture
def queued(monkeypatch):
    """The ids each queued task carries (the broker publish, seen at our task's edge)."""
    sent: list[list[int]] = []
    monkeypatch.setattr(schedule_steps_run_task, "delay", lambda ids: sent.append(list(ids)))
    return sent


def test_a_busy_tick_claims_in_one_statement_and_queues_one_task(
    queued, django_capture_on_commit_callbacks
):
    now = timezone.now()
    few = _due(2, now)
    with (
        CaptureQueriesContext(connection) as small,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert schedule_tick(now=now).claimed == few
    ScheduleStep.objects.filter(pk__in=few).update(state=State.DONE)
    many = _due(12, now)
    with CaptureQueriesContext(connection) as big, django_capture_on_commit_callbacks(execute=True):
        assert schedule_tick(now=now).claimed == many
    assert len(big) == len(small)  # the claims' cost does not grow with their number
    assert queued == [few, many]
    assert set(ScheduleStep.objects.filter(pk__in=many).values_list("state", flat=True)) == {
        State.CLAIMED
    }


def test_the_claimed_steps_travel_in_chunks(queued, settings, django_capture_on_commit_callbacks):
    settings.SCHEDULING_STEPS_PER_TASK = 4
    now = timezone.now()
    ids = _due(9, now)
    with django_capture_on_commit_callbacks(execute=True):
        schedule_tick(now=now)
    assert queued == [ids[:4], ids[4:8], ids[8:]]


def test_a_step_taken_by_another_beat_meanwhile_is_not_claimed_again():
    now = timezone.now()
    a, b, c = _due(3, now)
    ScheduleStep.objects.filter(pk=a).update(state=State.CLAIMED, claimed_at=now)  # the other
    assert _claim([a, b, c], now) == [b, c]
    assert _claim([a, b, c], now) == []  # a second beat with the same list gets nothing
    assert ScheduleStep.objects.filter(state=State.CLAIMED).count() == 3


def test_a_batch_runs_each_step_once_and_a_duplicate_message_does_nothing(slack):
    now = timezone.now()
    ids = _due(3, now)
    _claim(ids, now)
    assert schedule_steps_run(step_ids=ids) == dict.fromkeys(ids, State.DONE)  # reminders
    assert schedule_steps_run(step_ids=ids) == dict.fromkeys(ids, State.DONE)  # redelivered
    assert set(ScheduleStep.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_a_step_that_raises_leaves_the_others_to_run(monkeypatch):
    from scheduling.services import automation

    now = timezone.now()
    ids = _due(3, now)
    _claim(ids, now)
    real = automation.schedule_step_run

    def flaky(*, step_id, now=None):
        if step_id == ids[1]:
            raise RuntimeError("the database went away")
        return real(step_id=step_id)

    monkeypatch.setattr(automation, "schedule_step_run", flaky)
    states = schedule_steps_run(step_ids=ids)
    assert states == {ids[0]: State.DONE, ids[1]: "", ids[2]: State.DONE}
    assert ScheduleStep.objects.get(pk=ids[1]).state == State.CLAIMED  # reset after the timeout
