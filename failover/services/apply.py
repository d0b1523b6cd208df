"""Applying a plan: claim, read-modify-write (or stop -> modify -> start), verify, record."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from broadcastops.cloud import types
from broadcastops.cloud.errors import CloudError, CloudStateError
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.errors import ApplicationError, Conflict
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.actions import (
    action_claim,
    action_finish,
    action_guard,
    action_progress,
    cloud_error_as_application_error,
)
from broadcastops.notify.services import notify
from failover.audit import (
    DEFAULT_LOSS_THRESHOLD_MS,
    DEFAULT_RECOVER_BEHAVIOR,
    failover_from_json,
    pending_verdict,
    settings_fingerprint,
)
from failover.models import FailoverAudit, FailoverFix
from failover.services.auditing import audit_record
from failover.services.facts import (
    OPEN_FIXES,
    FixStatus,
    flow_facts,
    input_facts,
    shows,
    verdict_of,
    with_settings,
)
from failover.services.plan import Plan, params_validate, plan_build

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FixResult:
    status: str  # verified, pending, unchanged
    message: str
    plan: Plan
    action_id: int | None
    stop_start: bool = False
    verdict: str = ""

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "message": self.message,
            "verdict": self.verdict,
            "stop_start": self.stop_start,
            "action_id": self.action_id,
            "plan": self.plan.to_dict(),
        }


def _wait_state(gateway, channel_id: str, state: str, deadline: float) -> None:
    while True:
        current = gateway.live_channel_get(channel_id=channel_id).state
        if current == state:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"channel {channel_id} still {current}, waiting for {state}")
        time.sleep(settings.FAILOVER_VERIFY_POLL_S)


def _stop_modify_start(gateway, channel_id: str, changes: dict, action) -> None:
    """The second-confirmation path: stop, wait IDLE, modify, start, wait RUNNING."""
    deadline = time.monotonic() + settings.FAILOVER_STOP_START_TIMEOUT_S
    request_id = gateway.live_channel_stop(channel_id=channel_id)
    action_progress(action, "stopping the channel to modify it", request_id=request_id)
    _wait_state(gateway, channel_id, "IDLE", deadline)
    try:
        action_progress(action, "idle; modifying FailOverSettings")
        gateway.live_channel_failover_modify(channel_id=channel_id, changes=changes)
    finally:
        # Back on air whether or not the modify went through.
        request_id = gateway.live_channel_start(channel_id=channel_id)
        action_progress(action, "starting the channel again", request_id=request_id)
        _wait_state(
            gateway,
            channel_id,
            "RUNNING",
            time.monotonic() + settings.FAILOVER_STOP_START_TIMEOUT_S,
        )
    action_progress(action, "running again")


def _verify(gateway, channel_id: str, primary: str, expected: dict):
    """Re-read until the API shows ``expected`` on ``primary`` (bounded): (shown, last read)."""
    deadline = time.monotonic() + settings.FAILOVER_VERIFY_TIMEOUT_S
    last = None
    while True:
        try:
            last = gateway.live_channel_get(channel_id=channel_id)
        except CloudError as exc:  # a failed re-read is not a failed fix: keep trying
            logger.info("Failover verify of channel %s: read failed: %s", channel_id, exc)
        else:
            if shows(last.attached_inputs, primary, expected):
                return True, last
        if time.monotonic() >= deadline:
            return False, last
        time.sleep(settings.FAILOVER_VERIFY_POLL_S)


def failover_apply(
    *,
    channel: LiveChannel,
    actor,
    secondary_input_id: str | None = None,
    primary_input_id: str | None = None,
    loss_threshold_ms: int = DEFAULT_LOSS_THRESHOLD_MS,
    recover_behavior: str = DEFAULT_RECOVER_BEHAVIOR,
    allow_stop_start: bool = False,
    override: bool = False,
) -> FixResult:
    """Apply the plan to StreamLive and verify it; see the module docstring.

    Raises ``Conflict`` with code ``stop_start_required`` when StreamLive refuses to modify the
    running channel and ``allow_stop_start`` is false (the UI offers the second confirmation),
    ``guarded`` when a schedule has the channel on air (unless ``override``), ``busy`` when
    another action on the channel is running.
    """
    params_validate(loss_threshold_ms, recover_behavior)
    params = {
        "secondary_input_id": secondary_input_id,
        "primary_input_id": primary_input_id,
        "loss_threshold_ms": loss_threshold_ms,
        "recover_behavior": recover_behavior,
        "allow_stop_start": allow_stop_start,
        "override": override,
    }
    action = action_claim(
        actor=actor,
        action="channel.failover_fix",
        target_type="channel",
        target_id=channel.cloud_id,
        name=channel.name,
        params=params,
    )
    gateway = tencent_gateway()
    cid = channel.cloud_id
    stop_start = False
    try:
        try:
            cloud = gateway.live_channel_get(channel_id=cid)
            plan = plan_build(
                cloud,
                secondary_input_id=secondary_input_id,
                primary_input_id=primary_input_id,
                loss_threshold_ms=loss_threshold_ms,
                recover_behavior=recover_behavior,
            )
            if not plan.has_changes:
                action_finish(action, ok=True, outcome="Nothing to change: already as planned.")
                return FixResult(
                    status="unchanged",
                    message=_("%(name)s already has these failover settings.")
                    % {"name": channel.name},
                    plan=plan,
                    action_id=action.pk,
                    verdict=plan.verdict.verdict,
                )
            action_progress(action, "plan: " + " ".join(plan.diff_lines()[1:-1]))
            changes = {plan.primary_input_id: plan.after_settings}
            try:
                gateway.live_channel_failover_modify(channel_id=cid, changes=changes)
            except CloudStateError as exc:
                if not allow_stop_start:
                    raise _stop_start_offer(channel, plan, exc) from exc
                reasons = action_guard(channel, "restart", override)
                action_progress(
                    action,
                    f"StreamLive refused while {plan.state} ({exc.code}); stop -> modify -> start"
                    + (f", overriding: {' '.join(reasons)}" if reasons else ""),
                )
                _stop_modify_start(gateway, cid, changes, action)
                stop_start = True
        except CloudError as exc:
            raise cloud_error_as_application_error(exc, channel.name) from exc
        except TimeoutError as exc:
            raise Conflict(
                _("%(name)s did not reach the expected state in time: %(err)s")
                % {"name": channel.name, "err": exc},
                code="timeout",
            ) from exc
    except ApplicationError as exc:
        action_finish(action, ok=False, outcome=exc.message)
        raise
    except BaseException as exc:
        action_finish(action, ok=False, outcome=f"Failed: {exc}")
        raise

    expected = plan.after_settings.to_api()
    try:
        action_progress(action, "modified; verifying")
        shown, last = _verify(gateway, cid, plan.primary_input_id, expected)
        return _apply_record(channel, actor, action, plan, expected, shown, last, stop_start)
    except BaseException as exc:
        action.refresh_from_db()
        if action.status == action.Status.RUNNING:
            action_finish(action, ok=False, outcome=f"Modified, then failed to record: {exc}")
        raise


def _stop_start_offer(channel, plan: Plan, exc: CloudStateError) -> Conflict:
    return Conflict(
        _(
            "StreamLive refused to change %(name)s while it is %(state)s (%(cloud)s). To apply "
            "the fix, the channel must be stopped, modified and started again: viewers lose the "
            "picture for about a minute. Confirm stop → modify → start to go ahead."
        )
        % {"name": channel.name, "state": plan.state, "cloud": exc.message},
        code="stop_start_required",
        detail={
            "offer": "stop_modify_start",
            "retry_with": {"allow_stop_start": True},
            "state": plan.state,
            "plan": plan.to_dict(),
        },
    )


def _apply_record(channel, actor, action, plan, expected, shown, last, stop_start) -> FixResult:
    now = timezone.now()
    name = channel.name
    if last is not None:
        attached = last.attached_inputs
        state = last.state
    else:  # never re-read: audit the plan's "before"
        attached = tuple(
            types.AttachedInput(id=c.input_id, failover=failover_from_json(c.before))
            for c in plan.changes
        )
        state = plan.state
    inputs = input_facts(a.id for a in attached)
    verdict = verdict_of(plan.channel_id, name, state, attached, inputs, flow_facts(inputs))
    expected_fp = settings_fingerprint(
        with_settings(attached, plan.primary_input_id, plan.after_settings)
    )
    how = _(" (stopped, modified and started again)") if stop_start else ""
    if shown:
        status = "verified"
        message = _(
            "%(name)s: %(primary)s now fails over to %(backup)s after %(ms)s ms%(how)s."
        ) % {
            "name": name,
            "primary": plan.primary_input_id,
            "backup": plan.secondary_input_id,
            "ms": plan.loss_threshold_ms,
            "how": how,
        }
    else:
        status = "pending"
        verdict = pending_verdict(
            verdict,
            applied_at=timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S"),
            actor=action.actor_name,
        )
        message = _(
            "%(name)s: the fix was sent%(how)s but the API does not show it after %(s)s s. "
            "It stays PENDING; audit again in a few minutes."
        ) % {"name": name, "how": how, "s": int(settings.FAILOVER_VERIFY_TIMEOUT_S)}
    with transaction.atomic():
        FailoverFix.objects.filter(channel=channel, status__in=OPEN_FIXES).update(
            status=FixStatus.EXPIRED, resolved_at=now
        )
        FailoverFix.objects.create(
            channel=channel,
            action=action,
            actor=actor if getattr(actor, "pk", None) else None,
            primary_input_id=plan.primary_input_id,
            expected=expected,
            expected_fingerprint=expected_fp,
            status=FixStatus.VERIFIED if shown else FixStatus.PENDING,
            applied_at=now,
            deadline=now + timedelta(seconds=settings.FAILOVER_PENDING_MAX_S),
            resolved_at=now if shown else None,
        )
        previous = FailoverAudit.objects.filter(channel=channel).first()
        audit_record(channel, verdict, previous, now, explained=True, notify_changes=False)
        action_finish(action, ok=True, outcome=("" if shown else "PENDING: ") + message)
        notify(
            event="failover.fixed" if shown else "failover.fix_pending",
            subject=channel.cloud_id,
            severity="resolved" if shown else "warning",
            title=(
                _("%(name)s: input failover repaired")
                if shown
                else _("%(name)s: failover fix sent, not visible yet")
            )
            % {"name": name},
            text=message,
            facts={
                "Channel": name,
                "Primary": plan.primary_input_id,
                "Backup": plan.secondary_input_id,
                "By": action.actor_name,
            },
            actions=[] if shown else list(verdict.steps),
            dedup_key=f"failover.fix:{action.pk}",
        )
    logger.info("Failover fix of channel %s: %s (action %s)", channel.cloud_id, status, action.pk)
    return FixResult(
        status=status,
        message=message,
        plan=plan,
        action_id=action.pk,
        stop_start=stop_start,
        verdict=verdict.verdict,
    )
