"""The tick and its steps on the simulator: checks, the start exactly once, stop, grace."""

from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.types import Actor
from broadcastops.errors import Conflict
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.actions import channel_restart, channel_stop
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.notify.models import Notification, NotifyProfile
from scheduling.models import Schedule, ScheduleStep
from scheduling.services import schedule_create, schedule_step_run, schedule_tick
from scheduling.tests.conftest import KBO3, KBO3_FLOWS, at
from scheduling.tests.helpers import actions_run_pending, deliver_all, steps_run_claimed

pytestmark = pytest.mark.django_db
Kind = ScheduleStep.Kind
State = ScheduleStep.State
Status = Schedule.Status


def _schedule(channel, *, minutes=2.0, length=60, **kw):
    args = {
        "title": "KBO LG vs Doosan",
        "channel": channel,
        "starts_at": at(minutes),
        "ends_at": at(minutes + length),
        "auto_start": True,
        "auto_stop": True,
    }
    args.update(kw)
    return schedule_create(**args).schedules[0]


def _step(schedule, kind):
    return ScheduleStep.objects.get(schedule=schedule, kind=kind)


def _channel_state(sim, channel_id=KBO3):
    """What the cloud says (through the real SDK)."""
    from broadcastops.cloud.tencent import tencent_gateway

    return tencent_gateway().live_channel_get(channel_id=channel_id).state


def test_a_schedule_two_minutes_ahead_is_checked_started_once_and_said(
    kbo3, synced, slack, operator
):
    NotifyProfile.objects.create(user=operator, slack_user_id="U0KBO0001", language="ko")
    schedule = _schedule(kbo3, assignee=operator)
    assert _step(schedule, Kind.CHECK_2H).state == State.SKIPPED

    # Now: the T-30 min check is due at once (the schedule is closer than that).
    report = schedule_tick()
    assert report.claimed == [_step(schedule, Kind.CHECK_30M).pk]
    steps_run_claimed()
    check = _step(schedule, Kind.CHECK_30M)
    assert check.state == State.DONE
    items = {i["item"]: i["ok"] for i in check.result["items"]}
    assert set(items) == {"channel", "input", "failover", "flows", "package", "css"}
    assert items["channel"] is True and items["flows"] is None  # idle; the start starts them
    schedule.refresh_from_db()
    assert schedule.status == Status.CHECKING

    # T: the tick claims the start; the worker begins the action; the action runs.
    start = _step(schedule, Kind.START)
    assert schedule_tick(now=start.due_at + timedelta(seconds=1)).claimed == [start.pk]
    steps_run_claimed()
    start.refresh_from_db()
    assert start.state == State.RUNNING and start.action is not None
    assert start.action.origin == "schedule" and start.action.origin_ref == str(schedule.pk)
    actions_run_pending()
    assert _channel_state(synced) == "RUNNING"
    # The next tick follows the action up: done, on air, the assignee told.
    schedule_tick(now=start.due_at + timedelta(seconds=20))
    start.refresh_from_db()
    schedule.refresh_from_db()
    assert start.state == State.DONE and schedule.status == Status.ON_AIR
    assert schedule.on_air_at is not None

    starts = synced.requests("mdl", "StartStreamLiveChannel")
    assert len(starts) == 1
    flows = {r["params"]["FlowId"] for r in synced.requests("mdc", "StartStreamLinkFlow")}
    assert flows == KBO3_FLOWS  # the idle flows were started first
    first_channel_start = synced.sim.requests.index(starts[0])
    assert all(
        synced.sim.requests.index(r) < first_channel_start
        for r in synced.requests("mdc", "StartStreamLinkFlow")
    )

    # More ticks and a duplicated task change nothing.
    schedule_step_run(step_id=start.pk)
    schedule_tick(now=start.due_at + timedelta(seconds=40))
    actions_run_pending()
    assert len(synced.requests("mdl", "StartStreamLiveChannel")) == 1
    assert OperatorAction.objects.filter(target_id=KBO3).count() == 1

    delivered = deliver_all()
    assert {n.status for n in delivered} == {Notification.Status.SENT}
    texts = [m["text"] for m in slack.received if "KBO LG vs Doosan" in m["text"]]
    assert len(texts) == 2  # the check, the start (the others are the poll's failover alerts)
    assert all("<@U0KBO0001>" in t for t in texts)  # the assignee is mentioned
    assert "방송 중" in texts[1] or "on air" in texts[1]
    assert "KBO LG vs Doosan" in texts[1]


def test_the_stop_at_the_end_stops_the_channel_and_completes(kbo3, synced, slack):
    schedule = _schedule(kbo3, minutes=1, length=30)
    start = _step(schedule, Kind.START)
    schedule_tick(now=start.due_at)
    steps_run_claimed()
    actions_run_pending()
    schedule_tick(now=start.due_at + timedelta(seconds=5))
    stop = _step(schedule, Kind.STOP)
    schedule_tick(now=stop.due_at + timedelta(seconds=1))
    steps_run_claimed()
    stop.refresh_from_db()
    assert stop.action.action == "channel.stop"
    assert stop.action.params["overridden"]  # its own guard, overridden and recorded
    actions_run_pending()
    schedule_tick(now=stop.due_at + timedelta(seconds=10))
    schedule.refresh_from_db()
    assert schedule.status == Status.COMPLETED and schedule.off_air_at is not None
    assert _channel_state(synced) == "IDLE"
    assert len(synced.requests("mdl", "StopStreamLiveChannel")) == 1


def test_without_auto_start_the_assignee_is_reminded_and_nothing_starts(kbo3, synced, slack):
    schedule = _schedule(kbo3, auto_start=False, auto_stop=False)
    start = _step(schedule, Kind.START)
    schedule_tick(now=start.due_at)
    steps_run_claimed()
    start.refresh_from_db()
    assert start.state == State.DONE and start.action is None
    assert not synced.requests("mdl", "StartStreamLiveChannel")
    deliver_all()
    assert any(
        "수동" in m["text"] or "start channel-kbo-003 now" in m["text"] for m in slack.received
    )


def test_a_start_found_within_the_grace_period_runs_once_late(kbo3, synced, settings):
    settings.SCHEDULING_GRACE_S = 300
    schedule = _schedule(kbo3)
    start = _step(schedule, Kind.START)
    late = start.due_at + timedelta(seconds=200)
    assert start.pk in schedule_tick(now=late).claimed
    schedule_step_run(step_id=start.pk, now=late)
    actions_run_pending()
    schedule_tick(now=late + timedelta(seconds=5))
    start.refresh_from_db()
    assert start.state == State.DONE
    assert len(synced.requests("mdl", "StartStreamLiveChannel")) == 1
    notification = Notification.objects.get(dedup_key=f"schedule.step:{start.pk}")
    assert any("200" in str(v) for _k, v in notification.facts)  # late by 200 s


def test_a_start_found_after_the_grace_period_is_missed_and_said_never_run(kbo3, synced, slack):
    schedule = _schedule(kbo3)
    start = _step(schedule, Kind.START)
    from django.conf import settings

    report = schedule_tick(now=start.due_at + timedelta(seconds=settings.SCHEDULING_GRACE_S + 1))
    assert start.pk in report.missed
    start.refresh_from_db()
    schedule.refresh_from_db()
    assert start.state == State.MISSED and schedule.status == Status.MISSED
    actions_run_pending()
    assert not synced.requests("mdl", "StartStreamLiveChannel")
    deliver_all()
    assert any(m["text"].startswith(":rotating_light:") for m in slack.received)


def test_a_queued_task_run_after_the_grace_period_marks_missed(kbo3, synced, settings):
    schedule = _schedule(kbo3)
    start = _step(schedule, Kind.START)
    schedule_tick(now=start.due_at)  # claimed and queued; the worker is away
    away = start.due_at + timedelta(seconds=settings.SCHEDULING_GRACE_S + 60)
    assert schedule_step_run(step_id=start.pk, now=away) == State.MISSED
    assert not OperatorAction.objects.exists()


def test_a_claim_whose_task_was_lost_is_pending_again_and_runs_once(kbo3, synced, settings):
    schedule = _schedule(kbo3)
    start = _step(schedule, Kind.START)
    schedule_tick(now=start.due_at)  # the task message is lost
    later = start.due_at + timedelta(seconds=settings.SCHEDULING_CLAIM_TIMEOUT_S + 1)
    report = schedule_tick(now=later)
    assert start.pk in report.reset and start.pk in report.claimed
    assert schedule_step_run(step_id=start.pk, now=later) == State.RUNNING
    assert schedule_step_run(step_id=start.pk, now=later) == State.RUNNING  # a duplicate
    assert OperatorAction.objects.count() == 1


def test_a_busy_channel_is_retried_on_the_next_tick(kbo3, synced, operator):
    schedule = _schedule(kbo3)
    start = _step(schedule, Kind.START)
    other = channel_restart(channel=kbo3, actor=Actor(user=operator, origin="admin"))
    schedule_tick(now=start.due_at)
    assert schedule_step_run(step_id=start.pk, now=start.due_at) == State.PENDING
    start.refresh_from_db()
    assert "busy" in str(start.last_error)
    OperatorAction.objects.filter(pk=other.pk).update(status="failed", lease_owner="")
    schedule_tick(now=start.due_at + timedelta(seconds=15))
    assert schedule_step_run(step_id=start.pk, now=start.due_at) == State.RUNNING


def test_a_cancelled_schedule_whose_step_was_queued_does_nothing(kbo3, synced):
    from scheduling.services import schedule_cancel

    schedule = _schedule(kbo3)
    start = _step(schedule, Kind.START)
    schedule_tick(now=start.due_at)
    schedule_cancel(schedule=schedule)
    assert schedule_step_run(step_id=start.pk) == State.CANCELLED
    assert not OperatorAction.objects.exists()


def test_a_manual_stop_while_on_air_needs_an_explicit_override(kbo3, synced, operator):
    schedule = _schedule(kbo3)
    Schedule.objects.filter(pk=schedule.pk).update(status=Status.ON_AIR)
    actor = Actor(user=operator, origin="admin")
    with pytest.raises(Conflict) as refused:
        channel_stop(channel=kbo3, actor=actor)
    assert refused.value.code == "guarded"
    assert "KBO LG vs Doosan" in str(refused.value.message)
    with pytest.raises(Conflict):
        channel_restart(channel=kbo3, actor=actor)
    action = channel_stop(channel=kbo3, actor=actor, override=True)
    assert (
        action.params["override"] is True and "KBO LG vs Doosan" in action.params["overridden"][0]
    )


def test_a_channel_started_by_hand_is_on_air_and_one_dropping_is_interrupted(kbo3, synced, slack):
    schedule = _schedule(kbo3, minutes=1, auto_start=False)
    LiveChannel.objects.filter(pk=kbo3.pk).update(state="RUNNING")
    now = schedule.starts_at + timedelta(seconds=5)
    assert schedule.pk in schedule_tick(now=now).on_air
    LiveChannel.objects.filter(pk=kbo3.pk).update(
        state="IDLE", changed_at=timezone.now() + timedelta(minutes=2)
    )
    assert schedule.pk in schedule_tick(now=now + timedelta(minutes=5)).interrupted
    schedule.refresh_from_db()
    assert schedule.status == Status.INTERRUPTED
    deliver_all()
    assert any("channel-kbo-003" in m["text"] for m in slack.received)


def test_a_check_that_fails_blocks_the_start_only_when_asked(kbo3, synced, slack):
    LiveChannel.objects.filter(pk=kbo3.pk).update(package_channel=None)
    kbo3.refresh_from_db()
    blocking = _schedule(kbo3, minutes=10, block_on_failed_check=True)
    schedule_tick()
    steps_run_claimed()
    check = _step(blocking, Kind.CHECK_30M)
    assert check.result["ready"] is False
    start = _step(blocking, Kind.START)
    schedule_tick(now=start.due_at)
    assert schedule_step_run(step_id=start.pk, now=start.due_at) == State.FAILED
    assert not OperatorAction.objects.exists()
    deliver_all()
    assert any("❌" in str(m["blocks"]) for m in slack.received)


def test_inventory_poll_keeps_the_running_channel(kbo3, synced):
    # The poll after a scheduled start sees RUNNING (the interruption rule reads the poll).
    schedule = _schedule(kbo3, minutes=1)
    start = _step(schedule, Kind.START)
    schedule_tick(now=start.due_at)
    steps_run_claimed()
    actions_run_pending()
    schedule_tick(now=start.due_at + timedelta(seconds=5))
    inventory_poll()
    assert schedule_tick(now=start.due_at + timedelta(seconds=30)).interrupted == []
    kbo3.refresh_from_db()
    assert kbo3.state == "RUNNING"
