"""A channel's status from its details: input roles, failover events, notifications.

Every failover passes through a moment without input, so losing the input is recorded at
once and alerted only after ``INVENTORY_INPUT_LOST_GRACE_S``; an observed switch and the log
line of the same switch are one event.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from broadcastops.actions.models import OperatorAction
from broadcastops.cloud import types
from broadcastops.i18n import choice_message
from broadcastops.inventory import messages as m
from broadcastops.inventory.inference import (
    active_input_summary,
    health_of,
    pipelines_infer,
)
from broadcastops.inventory.models import FailoverEvent, InputRole, LiveChannel
from broadcastops.inventory.services.poll_types import ChannelDetails, PollReport
from broadcastops.inventory.services.push import push_missing
from broadcastops.notify import messages as nm
from broadcastops.notify.models import Notification
from broadcastops.notify.services import notify


def recently_stopped_by_operator(channel: LiveChannel, now: datetime) -> bool:
    return OperatorAction.objects.filter(
        target_type="channel",
        target_id=channel.cloud_id,
        # A failover fix may stop the channel too (stop -> modify -> start).
        action__in=["channel.stop", "channel.restart", "channel.failover_fix"],
        created_at__gte=now - timedelta(minutes=30),
    ).exists()


def record_event(
    channel: LiveChannel,
    pipeline: int,
    kind: str,
    source: str,
    occurred_at: datetime,
    message: str = "",
    **inputs: str,
) -> bool:
    """Store a failover event once. An observed change and the log line for the same switch
    are the same event: the log's time wins."""
    window = timedelta(seconds=settings.INVENTORY_EVENT_MERGE_WINDOW_S)
    nearby = FailoverEvent.objects.filter(
        channel=channel,
        pipeline=pipeline,
        kind=kind,
        occurred_at__gte=occurred_at - window,
        occurred_at__lte=occurred_at + window,
    )
    if source == FailoverEvent.Source.OBSERVED and nearby.exists():
        return False
    if source == FailoverEvent.Source.LOG:
        observed = nearby.filter(source=FailoverEvent.Source.OBSERVED).first()
        if observed is not None:
            FailoverEvent.objects.filter(pk=observed.pk).update(
                source=source, occurred_at=occurred_at, message=message
            )
            return False
    try:
        with transaction.atomic():
            FailoverEvent.objects.create(
                channel=channel,
                pipeline=pipeline,
                kind=kind,
                source=source,
                occurred_at=occurred_at,
                message=message,
                from_input_id=inputs.get("from_input_id", ""),
                to_input_id=inputs.get("to_input_id", ""),
            )
    except IntegrityError:
        return False  # already recorded by an earlier poll
    return True


def notify_transition(channel: LiveChannel, kind: str, pipeline: int | None, now: datetime) -> None:
    where = m.WHERE_PIPELINE(pipeline=pipeline) if pipeline is not None else m.WHERE_CHANNEL()
    time = timezone.localtime(now).strftime("%H:%M:%S")
    name = channel.name
    facts = {
        nm.FACT_CHANNEL(): name,
        nm.FACT_STATE(): choice_message(m.CHANNEL_STATE, channel.state),
        nm.FACT_INPUT(): choice_message(m.INPUT, channel.active_input),
    }
    if kind == "failover":
        notify(
            event="channel.failover",
            subject=channel.cloud_id,
            severity="critical",
            title=m.FAILOVER_TITLE(name=name),
            text=m.FAILOVER_TEXT(where=where, time=time),
            facts=facts,
            actions=[m.DO_CHECK_MAIN(), m.DO_RUN_OPS_STATUS(name=name)],
        )
    elif kind == "recover":
        notify(
            event="channel.recovered",
            subject=channel.cloud_id,
            severity="resolved",
            title=m.RECOVERED_TITLE(name=name),
            text=m.RECOVERED_TEXT(where=where, time=time),
            facts=facts,
        )
    elif kind == "input_restored":
        if Notification.objects.filter(
            event="channel.input_lost",
            subject=channel.cloud_id,
            created_at__gte=now - timedelta(seconds=settings.NOTIFY_DEDUP_WINDOW_S),
        ).exists():
            notify(
                event="channel.input_restored",
                subject=channel.cloud_id,
                severity="resolved",
                title=m.RESTORED_TITLE(name=name),
                text=m.RESTORED_TEXT(where=where, time=time),
                facts=facts,
            )
    elif kind == "input_lost":
        notify(
            event="channel.input_lost",
            subject=channel.cloud_id,
            severity="critical",
            title=m.INPUT_LOST_TITLE(name=name),
            text=m.INPUT_LOST_TEXT(where=where, time=time),
            facts=facts,
            actions=[m.DO_CHECK_FEEDS()],
        )
    elif kind == "stopped":
        notify(
            event="channel.stopped",
            subject=channel.cloud_id,
            severity="critical",
            title=m.STOPPED_TITLE(name=name),
            text=m.STOPPED_TEXT(time=time),
            facts=facts,
            actions=[m.DO_START_IF_ON_AIR(name=name), m.DO_CHECK_WHO_STOPPED_CONSOLE()],
        )


def input_lost_for_grace(channel: LiveChannel, pipeline: int, now: datetime) -> bool:
    lost = (
        FailoverEvent.objects.filter(
            channel=channel, pipeline=pipeline, kind=FailoverEvent.Kind.INPUT_LOST
        )
        .order_by("-occurred_at")
        .first()
    )
    grace = timedelta(seconds=settings.INVENTORY_INPUT_LOST_GRACE_S)
    # Without a recorded loss, count from the channel's last change of state: a channel that
    # has just been started gets the grace period before its first input arrives.
    since = lost.occurred_at if lost is not None else channel.changed_at
    return since is None or now - since >= grace


def transition_of(before: str | None, after: str) -> tuple[str | None, str | None]:
    """(event kind to record, alert to send) for a pipeline's change of input role.

    Every failover passes through a moment without input (the LossThreshold), so losing the
    input is recorded at once but alerted only when the next poll still sees no input.
    """
    Kind = FailoverEvent.Kind
    if after == InputRole.BACKUP and before in (InputRole.MAIN, InputRole.NONE):
        return Kind.FAILOVER, Kind.FAILOVER
    if after == InputRole.MAIN and before == InputRole.BACKUP:
        return Kind.RECOVER, Kind.RECOVER
    if after == InputRole.MAIN and before == InputRole.NONE:
        return None, "input_restored"
    if after == InputRole.NONE and before in (InputRole.MAIN, InputRole.BACKUP):
        return Kind.INPUT_LOST, None
    if after == InputRole.NONE and before == InputRole.NONE:
        return None, Kind.INPUT_LOST
    return None, None


def apply_details(
    channel: LiveChannel,
    cloud: types.LiveChannel,
    details: ChannelDetails,
    roles: dict[str, str],
    now: datetime,
    report: PollReport,
) -> tuple[dict[str, Any], bool, list[tuple[str, int]]]:
    """Update one channel's status from its details; record history, events, notifications."""
    previous = {p["pipeline"]: p for p in channel.pipelines or []}
    transitions: list[tuple[str, int]] = []
    events_before = report.events
    pipelines = pipelines_infer(
        channel=cloud, statistics=details.statistics, alerts=details.alerts, roles=roles
    )
    active = active_input_summary(cloud.state, pipelines)
    health = health_of(cloud.state, pipelines)
    for p in pipelines:
        before = previous.get(p["pipeline"], {}).get("role")
        after = p["role"]
        if cloud.state != LiveChannel.State.RUNNING:
            continue
        kind, alert = transition_of(before, after)
        if kind and record_event(
            channel,
            p["pipeline"],
            kind,
            FailoverEvent.Source.OBSERVED,
            now,
            from_input_id=previous.get(p["pipeline"], {}).get("input_id", ""),
            to_input_id=p["input_id"],
        ):
            report.events += 1
        if alert == FailoverEvent.Kind.INPUT_LOST and not input_lost_for_grace(
            channel, p["pipeline"], now
        ):
            alert = None
        if alert:
            transitions.append((alert, p["pipeline"]))
    failover_types = set(settings.INVENTORY_FAILOVER_LOG_TYPES)
    recover_types = set(settings.INVENTORY_RECOVER_LOG_TYPES)
    for entry in details.logs:
        if entry.time is None or entry.type not in failover_types | recover_types:
            continue
        kind = (
            FailoverEvent.Kind.FAILOVER
            if entry.type in failover_types
            else FailoverEvent.Kind.RECOVER
        )
        if record_event(
            channel, entry.pipeline, kind, FailoverEvent.Source.LOG, entry.time, entry.type
        ):
            report.events += 1
            # A switch the statistics did not catch yet is still news (dedup keeps it single).
            transitions.append((kind, entry.pipeline))
    values: dict[str, Any] = {
        "pipelines": pipelines,
        "active_input": active,
        "health": health,
    }
    if (
        report.events > events_before
        and channel.push_missing_since is None
        and push_missing(channel=channel, notify_url=cloud.notify_url, occurred_at=now)
    ):
        values["push_missing_since"] = now
    status_changed = (
        channel.active_input != active
        or channel.health != health
        or [p["role"] for p in channel.pipelines or []] != [p["role"] for p in pipelines]
    )
    return values, status_changed, transitions
