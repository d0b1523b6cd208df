"""The beat tick and the steps it runs: pre-air checks, start, stop, each exactly once.

Every step is one row (unique per schedule and kind) and moves only by compare-and-set:

- the tick (beat, every ``SCHEDULING_TICK_INTERVAL_S``) claims due ``pending`` steps in one
  compare-and-set statement (``UPDATE ... WHERE state = pending AND id IN (...) RETURNING
  id``: each row moves once, and the tick learns which it took) and queues one task per
  ``SCHEDULING_STEPS_PER_TASK`` claimed ids on commit; a step found
  later than ``SCHEDULING_GRACE_S`` after its time is marked ``missed`` and notified instead,
  never run late;
- the task takes its step (``claimed -> running``, == 1: a duplicate or redelivered message
  finds it taken and does nothing), checks the grace period again (the worker may have been
  away), and does the step's work. A start or stop begins an action on the channel
  (``broadcastops.actions``, origin *schedule*) in the same transaction that records it on
  the step, so one step never begins two actions;
- the next ticks follow the actions up (done or failed, schedule on air or completed,
  notification), notice a channel started by hand or gone off air, and hand steps whose
  worker vanished (``SCHEDULING_CLAIM_TIMEOUT_S``) back to pending.

A tick reads with a fixed number of queries whatever the size of the schedules table: each
query is bounded by an index (state and due time) and a batch size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from broadcastops.actions.models import OperatorAction, Origin
from broadcastops.actions.runs import ActionRun
from broadcastops.actions.services import action_begin
from broadcastops.actions.text import text
from broadcastops.actions.types import Actor, Outcome, Target
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.errors import ApplicationError
from broadcastops.i18n import Message, Text, language_active
from broadcastops.inventory.models import LinkFlow, LiveChannel
from broadcastops.inventory.selectors import channel_flows
from broadcastops.inventory.services.actions import channel_start_run, channel_stop
from broadcastops.notify import messages as notify_messages
from broadcastops.notify.services import notify
from scheduling import messages as m
from scheduling.models import Schedule, ScheduleStep
from scheduling.services.checks import CheckResult, precheck_run
from scheduling.services.schedules import local_text

logger = logging.getLogger(__name__)

Status = Schedule.Status
Kind = ScheduleStep.Kind
State = ScheduleStep.State
ActionStatus = OperatorAction.Status
START_KIND = "channel.scheduled_start"
CHECKS = (Kind.CHECK_2H, Kind.CHECK_30M)
# A step's notification is de-duplicated by its id for as long as anyone would care.
STEP_DEDUP_WINDOW_S = 14 * 24 * 3600


@dataclass
class TickReport:
    """What one tick did (ids), for logs, tests and the benchmark."""

    claimed: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    reset: list[int] = field(default_factory=list)
    followed: list[int] = field(default_factory=list)
    on_air: list[int] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)


def _grace() -> timedelta:
    return timedelta(seconds=settings.SCHEDULING_GRACE_S)


def _late_s(step: ScheduleStep, now: datetime) -> int:
    return max(0, int((now - step.due_at).total_seconds()))


# --- notifications -------------------------------------------------------------------------
def _facts(schedule: Schedule) -> dict[Message, Any]:
    return {
        m.FACT_SCHEDULE(): Text(schedule.title),
        notify_messages.FACT_CHANNEL(): Text(schedule.channel.name),
        m.FACT_STARTS(): Text(local_text(schedule.starts_at)),
        m.FACT_ENDS(): Text(local_text(schedule.ends_at)),
    }


def _step_notify(
    step: ScheduleStep,
    *,
    severity: str,
    title: Message,
    body: Message | str = "",
    actions: list[Message] | None = None,
    facts: dict[Message, Any] | None = None,
) -> None:
    """The step's one notification, to its assignee: de-duplicated by the step's id, so a
    step run again (a redelivered task, a takeover) never tells anyone twice."""
    schedule = step.schedule
    notify(
        event=f"schedule.{step.kind}",
        subject=f"schedule:{schedule.pk}",
        severity=severity,
        title=title,
        text=body,
        facts=facts or _facts(schedule),
        actions=actions or [],
        dedup_key=f"schedule.step:{step.pk}",
        dedup_window_s=STEP_DEDUP_WINDOW_S,
        recipients=[schedule.assignee] if schedule.assignee else [],
        once=True,
    )


def _step_kind(step: ScheduleStep) -> Message:
    return m.STEP_KIND[step.kind]()


# --- the tick ------------------------------------------------------------------------------
def _enqueue(step_ids: list[int]) -> None:
    """Queue the claimed steps: one task per ``SCHEDULING_STEPS_PER_TASK`` ids (a busy tick
    costs one broker publish or a few, not one per step). A task that cannot be queued (the
    broker is away) leaves its steps claimed: the claim times out and they are reset."""
    from scheduling.tasks import schedule_steps_run_task

    size = max(1, settings.SCHEDULING_STEPS_PER_TASK)
    for n in range(0, len(step_ids), size):
        chunk = step_ids[n : n + size]
        try:
            schedule_steps_run_task.delay(chunk)
        except Exception:
            logger.exception("Schedule steps %s: could not queue their task", chunk)


def _step_missed(step: ScheduleStep, now: datetime, *, from_state: str) -> bool:
    """Mark a step found after its grace period as missed (CAS) and say so."""
    late = _late_s(step, now)
    if (
        ScheduleStep.objects.filter(pk=step.pk, state=from_state).update(
            state=State.MISSED,
            finished_at=now,
            outcome=m.MISSED_TEXT(
                due=local_text(step.due_at), s=late, grace=settings.SCHEDULING_GRACE_S
            ).as_json(),
        )
        != 1
    ):
        return False
    schedule = step.schedule
    if step.kind == Kind.START and schedule.auto_start:
        Schedule.objects.filter(
            pk=schedule.pk, status__in=(Status.SCHEDULED, Status.CHECKING)
        ).update(status=Status.MISSED, updated_at=now)
    logger.warning("Schedule %s step %s missed (%s s late)", schedule.pk, step.kind, late)
    _step_notify(
        step,
        severity="critical" if step.kind in (Kind.START, Kind.STOP) else "warning",
        title=m.MISSED_TITLE(title=schedule.title, step=_step_kind(step)),
        body=m.MISSED_TEXT(due=local_text(step.due_at), s=late, grace=settings.SCHEDULING_GRACE_S),
    )
    return True


def _reset_stale(now: datetime, report: TickReport) -> None:
    """Steps claimed or begun by a worker that vanished go back to pending (their time and
    grace are judged again by the claim below)."""
    cut = now - timedelta(seconds=settings.SCHEDULING_CLAIM_TIMEOUT_S)
    stale = ScheduleStep.objects.filter(
        Q(state=State.CLAIMED, claimed_at__lt=cut)
        | Q(state=State.RUNNING, action__isnull=True, started_at__lt=cut)
    ).values_list("pk", "state", "claimed_at", "started_at")[: settings.SCHEDULING_TICK_BATCH]
    for pk, state, claimed_at, started_at in stale:
        if (
            ScheduleStep.objects.filter(
                pk=pk, state=state, claimed_at=claimed_at, started_at=started_at
            ).update(state=State.PENDING, claimed_at=None)
            == 1
        ):
            logger.warning("Schedule step %s: its worker vanished (%s); pending again", pk, state)
            report.reset.append(pk)


def _claim_due(now: datetime, report: TickReport) -> None:
    due = (
        ScheduleStep.objects.filter(state=State.PENDING, due_at__lte=now)
        .select_related("schedule__channel", "schedule__assignee")
        .order_by("due_at")[: settings.SCHEDULING_TICK_BATCH]
    )
    on_time = []
    for step in due:
        if now - step.due_at > _grace():
            if _step_missed(step, now, from_state=State.PENDING):
                report.missed.append(step.pk)
        else:
            on_time.append(step.pk)
    # One compare-and-set for the batch: a step moves pending -> claimed only if it is still
    # pending, and RETURNING names the ones this tick took (two beats racing each get theirs).
    if on_time:
        report.claimed = _claim(on_time, now)
    claimed = list(report.claimed)
    if claimed:
        transaction.on_commit(lambda: _enqueue(claimed))


def _claim(pks: list[int], now: datetime) -> list[int]:
    """``UPDATE ... SET state = claimed WHERE state = pending AND id IN (...) RETURNING id``
    (Django's ``update()`` gives a count, not which rows; SQLite >= 3.35 and PostgreSQL
    both have RETURNING)."""
    meta = ScheduleStep._meta
    quote = connection.ops.quote_name
    column = {
        name: quote(ScheduleStep._meta.get_field(name).column)  # type: ignore[union-attr,arg-type]
        for name in ("id", "state", "claimed_at")
    }
    marks = ", ".join(["%s"] * len(pks))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {column['state']} = %s, {column['claimed_at']} = %s "  # noqa: S608 (names from the model's meta)
        f"WHERE {column['state']} = %s AND {column['id']} IN ({marks}) RETURNING {column['id']}"
    )
    params = [State.CLAIMED.value, connection.ops.adapt_datetimefield_value(now)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, State.PENDING.value, *pks])
        return sorted(pk for (pk,) in cursor.fetchall())


def schedule_tick(*, now: datetime | None = None) -> TickReport:
    """One beat tick over the schedules table (see the module's docstring)."""
    now = now or timezone.now()
    report = TickReport()
    _reset_stale(now, report)
    _claim_due(now, report)
    _actions_follow(now, report)
    _on_air_follow(now, report)
    if any((report.claimed, report.missed, report.reset, report.interrupted)):
        logger.info(
            "Schedule tick: claimed %s, missed %s, reset %s, interrupted %s",
            report.claimed,
            report.missed,
            report.reset,
            report.interrupted,
        )
    return report


# --- one step ----------------------------------------------------------------------------
def schedule_step_run(*, step_id: int, now: datetime | None = None) -> str:
    """The body of ``schedule_step_run_task``: take the claimed step and do it. Returns the
    step's state afterwards; a step already taken, or cancelled meanwhile, is left alone."""
    now = now or timezone.now()
    step = (
        ScheduleStep.objects.select_related("schedule__channel", "schedule__assignee")
        .filter(pk=step_id)
        .first()
    )
    if step is None or step.state != State.CLAIMED:
        logger.info("Schedule step %s: already taken or no longer due", step_id)
        return step.state if step else ""
    if now - step.due_at > _grace():  # the worker was away too long: never run hours late
        _step_missed(step, now, from_state=State.CLAIMED)
        return State.MISSED
    taken = ScheduleStep.objects.filter(pk=step.pk, state=State.CLAIMED).update(
        state=State.RUNNING, started_at=now, attempts=F("attempts") + 1
    )
    if taken != 1:
        logger.info("Schedule step %s: taken by another worker", step_id)
        return State.RUNNING
    step.state, step.started_at = State.RUNNING, now
    if step.kind in CHECKS:
        return _check(step, now)
    if step.kind == Kind.START:
        return _start(step, now)
    return _stop(step, now)


def schedule_steps_run(*, step_ids: list[int]) -> dict[int, str]:
    """The body of ``schedule_steps_run_task``: run each claimed step of one tick's batch in
    turn (each is taken by its own compare-and-set, as alone). A step that raises is logged
    and left as it was (running without an action: reset after the claim timeout, then run
    again within the grace period); the others still run."""
    states: dict[int, str] = {}
    for step_id in step_ids:
        try:
            states[step_id] = schedule_step_run(step_id=step_id)
        except Exception:
            logger.exception("Schedule step %s: its run failed", step_id)
            states[step_id] = ""
    return states


def _finish(step: ScheduleStep, state: str, now: datetime, **fields: Any) -> bool:
    done = ScheduleStep.objects.filter(pk=step.pk, state=State.RUNNING).update(
        state=state, finished_at=now, **fields
    )
    return done == 1


def _check(step: ScheduleStep, now: datetime) -> str:
    schedule = step.schedule
    result = precheck_run(schedule=schedule)
    if not _finish(step, State.DONE, now, result=result.to_json()):
        return ScheduleStep.objects.get(pk=step.pk).state
    Schedule.objects.filter(pk=schedule.pk, status=Status.SCHEDULED).update(
        status=Status.CHECKING, updated_at=now
    )
    facts: dict[Message, Any] = {
        notify_messages.FACT_CHANNEL(): Text(schedule.channel.name),
        m.FACT_STARTS(): Text(local_text(schedule.starts_at)),
    }
    facts.update({item.label: item.value for item in result.items})
    if result.ready:
        title = m.CHECK_READY_TITLE(title=schedule.title, step=_step_kind(step))
        body = m.CHECK_READY_TEXT()
        severity = "info"
        actions: list[Message] = []
    else:
        body = m.CHECK_FIX_TEXT(items=[i.label for i in result.failed])
        title = m.CHECK_FIX_TITLE(
            title=schedule.title, count=len(result.failed), step=_step_kind(step)
        )
        severity = "warning"
        actions = [
            m.CHECK_FIX_ACTION(item=m.ITEM[i.item](), detail=i.detail) for i in result.failed
        ]
        if schedule.auto_start and schedule.block_on_failed_check:
            actions.append(m.CHECK_FIX_BLOCKS())
    _step_notify(step, severity=severity, title=title, body=body, actions=actions, facts=facts)
    logger.info("Schedule %s %s: ready=%s", schedule.pk, step.kind, result.ready)
    return State.DONE


def _last_check(schedule: Schedule) -> CheckResult | None:
    step = (
        ScheduleStep.objects.filter(schedule=schedule, kind__in=CHECKS, state=State.DONE)
        .order_by("-finished_at")
        .first()
    )
    return CheckResult.from_json(step.result) if step is not None else None


def _start(step: ScheduleStep, now: datetime) -> str:
    schedule = step.schedule
    channel = schedule.channel
    if not schedule.auto_start:
        _finish(step, State.DONE, now, outcome=m.START_REMIND_TEXT().as_json())
        _step_notify(
            step,
            severity="warning",
            title=m.START_REMIND_TITLE(title=schedule.title, channel=channel.name),
            body=m.START_REMIND_TEXT(),
        )
        return State.DONE
    last = _last_check(schedule)
    if schedule.block_on_failed_check and last is not None and not last.ready:
        _finish(step, State.FAILED, now, outcome=m.START_BLOCKED().as_json())
        _step_notify(
            step,
            severity="critical",
            title=m.START_FAILED_TITLE(title=schedule.title),
            body=m.START_BLOCKED(),
        )
        return State.FAILED
    flows = [f.cloud_id for f in channel_flows(channel)]
    return _begin(
        step,
        now,
        lambda: action_begin(
            kind=START_KIND,
            target=Target(type="channel", id=channel.cloud_id, name=channel.name),
            actor=Actor(origin=Origin.SCHEDULE, ref=str(schedule.pk)),
            params={"schedule_id": schedule.pk, "step_id": step.pk, "flow_ids": flows},
            verb="start",
        ),
    )


def _begin(step: ScheduleStep, now: datetime, begin: Any) -> str:
    """Begin the step's action and record it on the step in one transaction: either both or
    neither. A refusal (the channel busy with another action, a guard) leaves the step
    pending, so the next tick tries again while the grace period lasts."""
    try:
        with transaction.atomic():
            action = begin()
            if (
                ScheduleStep.objects.filter(
                    pk=step.pk, state=State.RUNNING, action__isnull=True
                ).update(action=action, last_error={})
                != 1
            ):
                raise _StepLost
    except _StepLost:
        logger.info("Schedule step %s: lost to another run; its action was not begun", step.pk)
        return ScheduleStep.objects.get(pk=step.pk).state
    except ApplicationError as exc:
        error = m.BUSY_RETRY(error=Text(str(exc.message)))
        ScheduleStep.objects.filter(pk=step.pk, state=State.RUNNING).update(
            state=State.PENDING, claimed_at=None, last_error=error.as_json()
        )
        logger.warning("Schedule step %s: not begun (%s); retried", step.pk, exc.message)
        return State.PENDING
    logger.info("Schedule step %s began action %s", step.pk, action.pk)
    return State.RUNNING


class _StepLost(Exception):
    pass


def _stop(step: ScheduleStep, now: datetime) -> str:
    schedule = Schedule.objects.select_related("channel", "assignee").get(pk=step.schedule_id)
    step.schedule = schedule
    channel = schedule.channel
    if schedule.status in (Status.SCHEDULED, Status.CHECKING):
        Schedule.objects.filter(pk=schedule.pk, status=schedule.status).update(
            status=Status.MISSED, updated_at=now
        )
        _finish(step, State.DONE, now, outcome=m.NEVER_ON_AIR(title=schedule.title).as_json())
        _step_notify(step, severity="warning", title=m.NEVER_ON_AIR(title=schedule.title))
        return State.DONE
    if schedule.status != Status.ON_AIR:  # interrupted, missed, cancelled: nothing to stop
        _finish(step, State.SKIPPED, now)
        return State.SKIPPED
    if not schedule.auto_stop:
        Schedule.objects.filter(pk=schedule.pk, status=Status.ON_AIR).update(
            status=Status.COMPLETED, off_air_at=now, updated_at=now
        )
        _finish(step, State.DONE, now, outcome=m.STOP_REMIND_TEXT().as_json())
        _step_notify(
            step,
            severity="warning",
            title=m.STOP_REMIND_TITLE(title=schedule.title, channel=channel.name),
            body=m.STOP_REMIND_TEXT(),
        )
        return State.DONE
    # The schedule's own stop overrides its own guard (the reason is recorded).
    return _begin(
        step,
        now,
        lambda: channel_stop(
            channel=channel,
            actor=Actor(origin=Origin.SCHEDULE, ref=str(schedule.pk)),
            override=True,
        ),
    )


# --- following up --------------------------------------------------------------------------
def _actions_follow(now: datetime, report: TickReport) -> None:
    """Steps whose action has finished: done or failed, the schedule's status, the message."""
    finished = (
        ScheduleStep.objects.filter(
            state=State.RUNNING,
            action__status__in=(ActionStatus.SUCCEEDED, ActionStatus.FAILED),
        )
        .select_related("action", "schedule__channel", "schedule__assignee")
        .order_by("due_at")[: settings.SCHEDULING_TICK_BATCH]
    )
    for step in finished:
        action = step.action
        assert action is not None
        ok = action.status == ActionStatus.SUCCEEDED
        said = Message.from_json(action.outcome_msg) if action.outcome_msg else Text(action.outcome)
        if not _finish(step, State.DONE if ok else State.FAILED, now, outcome=action.outcome_msg):
            continue
        report.followed.append(step.pk)
        schedule = step.schedule
        late = _late_s(step, step.started_at or now)
        facts = _facts(schedule)
        if late > settings.SCHEDULING_LATE_REPORT_S:
            facts[m.FACT_LATE()] = m.SECONDS(s=late)
        if step.kind == Kind.START:
            if ok:
                Schedule.objects.filter(
                    pk=schedule.pk, status__in=(Status.SCHEDULED, Status.CHECKING)
                ).update(status=Status.ON_AIR, on_air_at=now, updated_at=now)
                title = m.START_TITLE(title=schedule.title)
            else:
                title = m.START_FAILED_TITLE(title=schedule.title)
        elif ok:
            Schedule.objects.filter(pk=schedule.pk, status=Status.ON_AIR).update(
                status=Status.COMPLETED, off_air_at=now, updated_at=now
            )
            title = m.STOP_TITLE(title=schedule.title)
        else:
            title = m.STOP_FAILED_TITLE(title=schedule.title, channel=schedule.channel.name)
        _step_notify(
            step,
            severity="info" if ok else "critical",
            title=title,
            body=said,
            facts=facts,
        )


def _on_air_follow(now: datetime, report: TickReport) -> None:
    """A schedule whose channel was started by hand is on air; one whose channel went idle
    before its end (not by its own stop) is interrupted."""
    airing = Q(starts_at__lte=now, ends_at__gt=now)
    started = Schedule.objects.filter(
        airing,
        status__in=(Status.SCHEDULED, Status.CHECKING),
        channel__state=LiveChannel.State.RUNNING,
    ).values_list("pk", "status")[: settings.SCHEDULING_TICK_BATCH]
    for pk, status in started:
        if Schedule.objects.filter(pk=pk, status=status).update(
            status=Status.ON_AIR, on_air_at=now, updated_at=now
        ):
            report.on_air.append(pk)
    # Off air before its end, seen by a poll after it went on air (its own stop runs only
    # at the end, so this is a manual stop or a failure).
    dropped = Schedule.objects.filter(
        airing,
        status=Status.ON_AIR,
        channel__state=LiveChannel.State.IDLE,
        channel__changed_at__gt=F("on_air_at"),
    ).select_related("channel", "assignee")[: settings.SCHEDULING_TICK_BATCH]
    for schedule in dropped:
        if not Schedule.objects.filter(pk=schedule.pk, status=Status.ON_AIR).update(
            status=Status.INTERRUPTED, off_air_at=schedule.channel.changed_at, updated_at=now
        ):
            continue
        report.interrupted.append(schedule.pk)
        logger.warning(
            "Schedule %s interrupted: %s is idle", schedule.pk, schedule.channel.cloud_id
        )
        notify(
            event="schedule.interrupted",
            subject=f"schedule:{schedule.pk}",
            severity="critical",
            title=m.INTERRUPTED_TITLE(title=schedule.title, channel=schedule.channel.name),
            text=m.INTERRUPTED_TEXT(
                state=schedule.channel.state, ends=local_text(schedule.ends_at)
            ),
            facts=_facts(schedule),
            dedup_key=f"schedule.interrupted:{schedule.pk}",
            dedup_window_s=STEP_DEDUP_WINDOW_S,
            recipients=[schedule.assignee] if schedule.assignee else [],
            once=True,
        )


# --- the start's runner (in the action engine's task) ----------------------------------------
def channel_scheduled_start_run(run: ActionRun) -> Outcome:
    """A schedule's start: the channel's StreamLink flows first when they are idle, then the
    channel (the inventory's start: wait for RUNNING, check the input). Resumable like every
    runner: each step is decided from the cloud's state."""
    gateway = tencent_gateway()
    for flow_id in run.params.get("flow_ids") or ():
        flow = gateway.link_flow_get(flow_id=flow_id)
        if flow.state == LinkFlow.State.RUNNING:
            continue
        request_id = gateway.link_flow_start(flow_id=flow_id)
        run.progress(
            text(gettext_noop("Starting the flow %(name)s first."), name=flow.name),
            request_id=request_id,
        )
        run.wait_for(
            lambda flow_id=flow_id: gateway.link_flow_get(flow_id=flow_id).state,  # type: ignore[misc]
            LinkFlow.State.RUNNING,
            timeout_s=settings.INVENTORY_RESTART_TIMEOUT_S,
            poll_s=settings.INVENTORY_RESTART_POLL_S,
        )
    return channel_start_run(run)


# --- the guard ------------------------------------------------------------------------------
def schedule_guard(target: Target, verb: str) -> str | None:
    """``ACTION_GUARDS``: a manual stop (or restart) of a channel that a schedule has on air
    needs an explicit override."""
    if target.type != "channel" or verb not in ("stop", "restart"):
        return None
    schedule = (
        Schedule.objects.filter(channel__cloud_id=target.id, status=Status.ON_AIR)
        .select_related("channel")
        .first()
    )
    if schedule is None:
        return None
    with language_active(None):
        return m.GUARD_ON_AIR(
            title=schedule.title,
            channel=schedule.channel.name,
            ends=local_text(schedule.ends_at),
            id=schedule.pk,
        ).render()
