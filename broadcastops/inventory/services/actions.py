"""Operator actions on channels and flows: start, stop, restart. Each writes an audit row.

The audit row (``OperatorAction``) is claimed before the cloud is called: a conditional unique
constraint allows one running action per resource, so two operators (or an operator and a
schedule) never act on the same channel at once; the loser gets a clear 409. Cloud calls happen
outside any transaction. Other apps can veto an action (a schedule that has the channel on air)
through ``action_guard_register``; an explicit override bypasses the veto and is recorded.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from broadcastops.cloud.errors import (
    CloudError,
    CloudNotFound,
    CloudStateError,
    CloudTransientError,
)
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    UpstreamUnavailable,
    ValidationFailed,
)
from broadcastops.inventory.models import LinkFlow, LiveChannel, OperatorAction

logger = logging.getLogger(__name__)

Status = OperatorAction.Status

# guard(channel, action) -> a reason to refuse, or None. Registered by other apps' ready().
_GUARDS: list[Callable[[LiveChannel, str], str | None]] = []


def action_guard_register(guard: Callable[[LiveChannel, str], str | None]) -> None:
    """Let another app veto channel actions (e.g. scheduling: the channel is on air)."""
    if guard not in _GUARDS:
        _GUARDS.append(guard)


def action_guard(channel: LiveChannel, action: str, override: bool) -> list[str]:
    reasons = [r for r in (g(channel, action) for g in _GUARDS) if r]
    if reasons and not override:
        raise Conflict(
            " ".join(reasons) + " Repeat with an explicit override to act anyway.",
            code="guarded",
            detail={"reasons": reasons},
        )
    return reasons


def action_claim(*, actor, action: str, target_type: str, target_id: str, name: str, params: dict):
    try:
        with transaction.atomic():
            return OperatorAction.objects.create(
                actor=actor,
                actor_name=actor.get_username() if actor else "system",
                action=action,
                target_type=target_type,
                target_id=target_id,
                target_name=name,
                params=params,
            )
    except IntegrityError as exc:
        running = OperatorAction.objects.filter(
            target_type=target_type, target_id=target_id, status=Status.RUNNING
        ).first()
        who = f"{running.actor_name} ({running.action})" if running else "another action"
        raise Conflict(
            f"{name} is busy: {who} is still running. Wait for it to finish.",
            code="busy",
        ) from exc


def action_finish(action: OperatorAction, *, ok: bool, outcome: str, request_id: str = "") -> None:
    request_ids = [*action.request_ids, request_id] if request_id else action.request_ids
    OperatorAction.objects.filter(pk=action.pk).update(
        status=Status.SUCCEEDED if ok else Status.FAILED,
        outcome=outcome,
        request_ids=request_ids,
        finished_at=timezone.now(),
    )
    action.refresh_from_db()


def action_progress(action: OperatorAction, step: str, *, request_id: str = "") -> None:
    """Append a step (and the cloud request that made it) to a running action's row."""
    if request_id:
        action.request_ids = [*action.request_ids, request_id]
        OperatorAction.objects.filter(pk=action.pk).update(request_ids=action.request_ids)
    action.progress = [*action.progress, {"at": timezone.now().isoformat(), "step": step}]
    OperatorAction.objects.filter(pk=action.pk).update(progress=action.progress)
    logger.info("Action %s on %s: %s", action.pk, action.target_name, step)


def cloud_error_as_application_error(exc: CloudError, name: str) -> ApplicationError:
    if isinstance(exc, CloudStateError):
        return Conflict(f"{name}: the cloud refused in its current state ({exc.message}).")
    if isinstance(exc, CloudNotFound):
        return NotFound(f"{name} no longer exists in the cloud ({exc.message}).")
    if isinstance(exc, CloudTransientError):
        return UpstreamUnavailable(f"The cloud did not answer for {name}: {exc.message}")
    return ValidationFailed(f"The cloud refused the action on {name}: {exc.message}")


def _run_simple(*, actor, verb: str, target, target_type: str, call, params: dict):
    action = action_claim(
        actor=actor,
        action=f"{target_type}.{verb}",
        target_type=target_type,
        target_id=target.cloud_id,
        name=target.name,
        params=params,
    )
    try:
        request_id = call()
    except CloudError as exc:
        action_finish(action, ok=False, outcome=str(exc), request_id=exc.request_id)
        raise cloud_error_as_application_error(exc, target.name) from exc
    action_finish(action, ok=True, outcome=f"{verb} requested", request_id=request_id or "")
    return action


def _channel_simple(*, channel: LiveChannel, actor, override: bool, verb: str, call):
    reasons = action_guard(channel, verb, override)
    return _run_simple(
        actor=actor,
        verb=verb,
        target=channel,
        target_type="channel",
        call=lambda: call(channel_id=channel.cloud_id),
        params={"override": override, "overridden": reasons},
    )


def channel_start(*, channel: LiveChannel, actor, override: bool = False) -> OperatorAction:
    """Ask StreamLive to start ``channel``; the next poll shows it RUNNING."""
    gateway = tencent_gateway()
    return _channel_simple(
        channel=channel,
        actor=actor,
        override=override,
        verb="start",
        call=gateway.live_channel_start,
    )


def channel_stop(*, channel: LiveChannel, actor, override: bool = False) -> OperatorAction:
    """Ask StreamLive to stop ``channel``."""
    gateway = tencent_gateway()
    return _channel_simple(
        channel=channel, actor=actor, override=override, verb="stop", call=gateway.live_channel_stop
    )


def _flow_simple(*, flow: LinkFlow, actor, verb: str, call) -> OperatorAction:
    return _run_simple(
        actor=actor,
        verb=verb,
        target=flow,
        target_type="flow",
        call=lambda: call(flow_id=flow.cloud_id),
        params={},
    )


def flow_start(*, flow: LinkFlow, actor) -> OperatorAction:
    """Ask StreamLink to start ``flow``."""
    return _flow_simple(
        flow=flow, actor=actor, verb="start", call=tencent_gateway().link_flow_start
    )


def flow_stop(*, flow: LinkFlow, actor) -> OperatorAction:
    """Ask StreamLink to stop ``flow``."""
    return _flow_simple(flow=flow, actor=actor, verb="stop", call=tencent_gateway().link_flow_stop)


def channel_restart_begin(*, channel: LiveChannel, actor, override: bool = False):
    """Claim a restart and run it as a Celery task; its progress is kept on the audit row."""
    reasons = action_guard(channel, "restart", override)
    action = action_claim(
        actor=actor,
        action="channel.restart",
        target_type="channel",
        target_id=channel.cloud_id,
        name=channel.name,
        params={"override": override, "overridden": reasons},
    )
    from broadcastops.inventory.tasks import channel_restart_task

    transaction.on_commit(lambda: channel_restart_task.delay(action.pk))
    return action


def _wait_for(gateway, channel_id: str, state: str, action, deadline: float) -> None:
    while True:
        current = gateway.live_channel_get(channel_id=channel_id).state
        if current == state:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"still {current} after waiting for {state}")
        time.sleep(settings.INVENTORY_RESTART_POLL_S)


def channel_restart_run(*, action_id: int) -> OperatorAction:
    """Stop, wait for IDLE, start, wait for RUNNING, check the input, report. Idempotent: a
    finished action is not run again."""
    action = OperatorAction.objects.get(pk=action_id)
    if action.status != Status.RUNNING:
        return action
    gateway = tencent_gateway()
    channel_id = action.target_id
    deadline = time.monotonic() + settings.INVENTORY_RESTART_TIMEOUT_S
    try:
        state = gateway.live_channel_get(channel_id=channel_id).state
        if state != "IDLE":
            request_id = gateway.live_channel_stop(channel_id=channel_id)
            action_progress(action, f"stopping (was {state})", request_id=request_id)
            _wait_for(gateway, channel_id, "IDLE", action, deadline)
        request_id = gateway.live_channel_start(channel_id=channel_id)
        action_progress(action, "idle; starting", request_id=request_id)
        _wait_for(gateway, channel_id, "RUNNING", action, deadline)
        action_progress(action, "running; checking the input")
        stats = gateway.live_channel_input_statistics(channel_id=channel_id, period="5s")
        active = [stats.active_input_id(p) for p in (0, 1)]
    except (CloudError, TimeoutError) as exc:
        action_progress(action, f"failed: {exc}")
        action_finish(action, ok=False, outcome=f"Restart failed: {exc}")
        return action
    inputs = ", ".join(f"pipeline {p}: {i or 'no input yet'}" for p, i in enumerate(active))
    action_finish(action, ok=True, outcome=f"Restarted; {inputs}")
    return action
