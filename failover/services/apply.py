"""Applying a plan, as an action (``broadcastops.actions``, kind ``channel.failover_fix``).

*Begin*, in the request (``failover_apply``): claim the channel, read it and build the plan,
send the read-modify-write once. Its refusal on a running channel is the 409
``stop_start_required`` the operator must confirm, so it has to be answered synchronously;
with ``allow_stop_start`` the guards are asked then (409 ``guarded``). Everything that waits
runs in the worker (``failover_fix_run``): stop -> modify -> start when asked for, re-reading
until the API shows the new settings (bounded), recording the verdict and notifying.

The worker's steps are resumable: the plan travels on the action (``FixSpec``), the stop ->
modify -> start path is decided from the channel's state and the checkpoint (``modified``),
and whatever happens to the modify, the channel is started again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.runs import ActionRun, action_held
from broadcastops.actions.services import (
    action_claim,
    action_enqueue,
    cloud_error_as_application_error,
    cloud_error_code,
    cloud_error_text,
    guards_check,
)
from broadcastops.actions.text import Text, plain, text
from broadcastops.actions.types import ActionFailed, Actor, Outcome, Target
from broadcastops.cloud import types
from broadcastops.cloud.errors import CloudError, CloudStateError
from broadcastops.cloud.tencent import TencentGateway, tencent_gateway
from broadcastops.errors import ApplicationError, Conflict
from broadcastops.inventory.models import LiveChannel
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

KIND = "channel.failover_fix"
ChannelState = LiveChannel.State
ON_AIR = (ChannelState.RUNNING, ChannelState.STARTING)


@dataclass(frozen=True)
class FixSpec:
    """What the worker needs of the plan; kept on the action as JSON."""

    channel_id: str
    channel_name: str
    planned_state: str
    primary_input_id: str
    secondary_input_id: str
    loss_threshold_ms: int
    expected: dict[str, Any]  # the primary's FailOverSettings, in the API's shape
    before: tuple[
        tuple[str, dict[str, Any] | None], ...
    ]  # every attached input's settings as planned

    @classmethod
    def of(cls, plan: Plan) -> FixSpec:
        return cls(
            channel_id=plan.channel_id,
            channel_name=plan.channel_name,
            planned_state=plan.state,
            primary_input_id=plan.primary_input_id,
            secondary_input_id=plan.secondary_input_id,
            loss_threshold_ms=plan.loss_threshold_ms,
            expected=plan.after_settings.to_api(),
            before=tuple((c.input_id, c.before) for c in plan.changes),
        )

    @property
    def settings(self) -> types.FailOverSettings:
        return types.FailOverSettings(
            secondary_input_id=self.expected["SecondaryInputId"],
            loss_threshold_ms=self.expected["LossThreshold"],
            recover_behavior=self.expected["RecoverBehavior"],
        )

    @property
    def changes(self) -> dict[str, types.FailOverSettings | None]:
        return {self.primary_input_id: self.settings}

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "before": [list(b) for b in self.before]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FixSpec:
        return cls(**{**data, "before": tuple((i, b) for i, b in data["before"])})


@dataclass(frozen=True)
class FixOutcome:
    """What the worker found once the change was sent: what ``_apply_record`` records."""

    spec: FixSpec
    shown: bool  # the API shows the new settings
    last: types.LiveChannel | None  # the last read of the channel, if any succeeded
    stop_start: bool


class _Refused(Exception):
    """A refusal whose sentence is kept translatable in the audit trail."""

    def __init__(self, line: Text, error: ApplicationError):
        self.text = line
        self.error = error


def _target(channel: LiveChannel) -> Target:
    return Target(type="channel", id=channel.cloud_id, name=channel.name)


# --- begin (in the request) -------------------------------------------------------------------
def failover_apply(
    *,
    channel: LiveChannel,
    actor: Actor,
    secondary_input_id: str | None = None,
    primary_input_id: str | None = None,
    loss_threshold_ms: int = DEFAULT_LOSS_THRESHOLD_MS,
    recover_behavior: str = DEFAULT_RECOVER_BEHAVIOR,
    allow_stop_start: bool = False,
    override: bool = False,
) -> OperatorAction:
    """Begin the fix; returns its action, running in a worker (or finished: nothing to do).

    Raises ``Conflict`` with code ``stop_start_required`` when StreamLive refuses to modify the
    running channel and ``allow_stop_start`` is false (the UI offers the second confirmation),
    ``guarded`` when a schedule has the channel on air (unless ``override``), ``busy`` when
    another action on the channel is running. Each refusal is in the audit trail.
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
    target = _target(channel)
    action = action_claim(kind=KIND, target=target, actor=actor, params=params)
    with action_held(action.pk, begin=True) as run:  # handed back to the task on exit
        assert run is not None  # just claimed, nobody else knows it yet
        try:
            _begin(run, channel, target, params)
        except CloudError as exc:
            run.fail(cloud_error_text(exc, channel.name), code=cloud_error_code(exc))
            raise cloud_error_as_application_error(exc, channel.name) from exc
        except _Refused as refused:
            run.fail(refused.text, code=refused.error.code)
            raise refused.error from None
        except ApplicationError as exc:
            run.fail(plain(str(exc.message)), code=exc.code)
            raise
        except Exception as exc:
            run.fail(text(gettext_noop("Failed: %(error)s"), error=plain(str(exc))))
            raise
        begun = run.action
    if not begun.finished_at:
        action_enqueue(begun)  # only now: the task must find it unowned
    return begun


def _begin(run: ActionRun, channel: LiveChannel, target: Target, params: dict[str, Any]) -> None:
    gateway = tencent_gateway()
    plan = plan_build(
        gateway.live_channel_get(channel_id=channel.cloud_id),
        secondary_input_id=params["secondary_input_id"],
        primary_input_id=params["primary_input_id"],
        loss_threshold_ms=params["loss_threshold_ms"],
        recover_behavior=params["recover_behavior"],
    )
    if not plan.has_changes:
        run.finish(
            Outcome(
                ok=True,
                text=text(
                    gettext_noop("%(name)s already has these failover settings."),
                    name=channel.name,
                ),
                code="unchanged",
                result={"status": "unchanged", "verdict": plan.verdict.verdict},
            )
        )
        return
    spec = FixSpec.of(plan)
    for change in plan.changes:
        if change.changed:
            run.progress(
                text(
                    gettext_noop("Plan: FailOverSettings of %(input)s: %(before)s -> %(after)s"),
                    input=f"{change.input_id} {change.name}".strip(),
                    before=json.dumps(change.before),
                    after=json.dumps(change.after),
                )
            )
    try:
        gateway.live_channel_failover_modify(channel_id=channel.cloud_id, changes=spec.changes)
    except CloudStateError as exc:
        if not params["allow_stop_start"]:
            raise _stop_start_offer(channel, plan, exc) from exc
        reasons = guards_check(target=target, verb="restart", override=params["override"])
        run.progress(
            text(
                gettext_noop(
                    "StreamLive refused while %(state)s (%(code)s): stop -> modify -> "
                    "start%(overriding)s"
                ),
                state=plan.state,
                code=exc.code,
                overriding=text(gettext_noop(", overriding: %(reasons)s"), reasons=reasons)
                if reasons
                else "",
            )
        )
        run.checkpoint(spec=spec.to_json(), path="stop_start")
        return
    run.checkpoint(spec=spec.to_json(), path="direct")


def _stop_start_offer(channel: LiveChannel, plan: Plan, exc: CloudStateError) -> _Refused:
    line = text(
        gettext_noop(
            "StreamLive refused to change %(name)s while it is %(state)s (%(cloud)s). To apply "
            "the fix, the channel must be stopped, modified and started again: viewers lose the "
            "picture for about a minute. Confirm stop → modify → start to go ahead."
        ),
        name=channel.name,
        state=plan.state,
        cloud=exc.message,
    )
    error = Conflict(
        line.render(),
        code="stop_start_required",
        detail={
            "offer": "stop_modify_start",
            "retry_with": {"allow_stop_start": True},
            "state": plan.state,
            "plan": plan.to_dict(),
        },
    )
    return _Refused(line, error)


# --- run (in the worker) ----------------------------------------------------------------------
def failover_fix_run(run: ActionRun) -> Outcome:
    """The worker's part of a fix: stop -> modify -> start if that path was chosen, verify,
    record. Registered for ``channel.failover_fix`` in ``FailoverConfig.ready()``."""
    if "spec" not in run.state:
        # The request that began it stopped before it decided what to send.
        raise ActionFailed(
            text(
                gettext_noop(
                    "The fix was interrupted before it was handed to a worker. Audit %(name)s "
                    "and try again."
                ),
                name=run.action.target_name,
            ),
            code="interrupted",
        )
    spec = FixSpec.from_json(run.state["spec"])
    gateway = tencent_gateway()
    stop_start = run.state.get("path") == "stop_start"
    if stop_start:
        _stop_modify_start(run, gateway, spec)
    run.progress(text(gettext_noop("Modified; verifying.")))
    shown, last = _verify(run, gateway, spec)
    channel = LiveChannel.objects.get(cloud_id=spec.channel_id)
    return _apply_record(
        run=run, channel=channel, outcome=FixOutcome(spec, shown, last, stop_start)
    )


def _stop_modify_start(run: ActionRun, gateway: TencentGateway, spec: FixSpec) -> None:
    """The second-confirmation path: stop, wait IDLE, modify, start, wait RUNNING. The
    channel is started again whether or not the modify went through, and the outcome says so."""
    cid, name = spec.channel_id, spec.channel_name

    def state() -> str:
        return gateway.live_channel_get(channel_id=cid).state

    def wait(want: str | Collection[str]) -> str:
        return run.wait_for(
            state,
            want,
            timeout_s=settings.FAILOVER_STOP_START_TIMEOUT_S,
            poll_s=settings.FAILOVER_VERIFY_POLL_S,
        )

    if not run.state.get("modified") and not run.state.get("modify_error"):
        current = state()
        if current in ON_AIR:
            request_id = gateway.live_channel_stop(channel_id=cid)
            run.progress(
                text(gettext_noop("Stopping %(name)s to modify it."), name=name),
                request_id=request_id,
            )
        wait(ChannelState.IDLE)
        run.progress(text(gettext_noop("%(name)s is idle; modifying FailOverSettings."), name=name))
        try:
            gateway.live_channel_failover_modify(channel_id=cid, changes=spec.changes)
        except CloudError as exc:
            error = cloud_error_text(exc, name)
            run.checkpoint(modify_error=error.to_json(), modify_code=cloud_error_code(exc))
            run.progress(
                text(
                    gettext_noop("The modify failed (%(error)s); starting %(name)s again."),
                    error=error,
                    name=name,
                )
            )
        else:
            run.checkpoint(modified=True)
    # Back on air whether or not the modify went through.
    if wait((ChannelState.IDLE, *ON_AIR)) == ChannelState.IDLE:
        try:
            request_id = gateway.live_channel_start(channel_id=cid)
        except CloudError as exc:
            raise ActionFailed(
                text(
                    gettext_noop(
                        "%(name)s could not be started again (%(error)s): it is OFF AIR. "
                        "Start it now."
                    ),
                    name=name,
                    error=cloud_error_text(exc, name),
                ),
                code="off_air",
            ) from exc
        run.progress(
            text(gettext_noop("Starting %(name)s again."), name=name), request_id=request_id
        )
    wait(ChannelState.RUNNING)
    run.progress(text(gettext_noop("%(name)s is running again."), name=name))
    if run.state.get("modify_error"):
        raise ActionFailed(
            text(
                gettext_noop(
                    "The fix was not applied: %(error)s %(name)s was started again and is "
                    "running; its failover settings are unchanged."
                ),
                error=Text.from_json(run.state["modify_error"]),
                name=name,
            ),
            code=run.state.get("modify_code") or "cloud_refused",
            result={"status": "failed", "stop_start": True, "restarted": True},
        )


def _verify(
    run: ActionRun, gateway: TencentGateway, spec: FixSpec
) -> tuple[bool, types.LiveChannel | None]:
    """Re-read until the API shows the new settings on the primary (bounded)."""
    deadline = time.monotonic() + settings.FAILOVER_VERIFY_TIMEOUT_S
    last = None
    while True:
        run.check()
        try:
            last = gateway.live_channel_get(channel_id=spec.channel_id)
        except CloudError as exc:  # a failed re-read is not a failed fix: keep trying
            logger.info("Failover verify of channel %s: read failed: %s", spec.channel_id, exc)
        else:
            if shows(last.attached_inputs, spec.primary_input_id, spec.expected):
                return True, last
        if time.monotonic() >= deadline:
            return False, last
        time.sleep(settings.FAILOVER_VERIFY_POLL_S)


def _apply_record(*, run: ActionRun, channel: LiveChannel, outcome: FixOutcome) -> Outcome:
    """Record the fix, the channel's new verdict and the action's end in one transaction,
    and notify."""
    spec = outcome.spec
    action = run.action
    now = timezone.now()
    if outcome.last is not None:
        attached = outcome.last.attached_inputs
        state = outcome.last.state
    else:  # never re-read: audit the plan's "before"
        attached = tuple(
            types.AttachedInput(id=input_id, failover=failover_from_json(before))
            for input_id, before in spec.before
        )
        state = spec.planned_state
    inputs = input_facts(a.id for a in attached)
    verdict = verdict_of(
        spec.channel_id, spec.channel_name, state, attached, inputs, flow_facts(inputs)
    )
    expected_fp = settings_fingerprint(
        with_settings(attached, spec.primary_input_id, spec.settings)
    )
    how = text(gettext_noop(" (stopped, modified and started again)")) if outcome.stop_start else ""
    if outcome.shown:
        status = FixStatus.VERIFIED
        line = text(
            gettext_noop(
                "%(name)s: %(primary)s now fails over to %(backup)s after %(ms)s ms%(how)s."
            ),
            name=spec.channel_name,
            primary=spec.primary_input_id,
            backup=spec.secondary_input_id,
            ms=spec.loss_threshold_ms,
            how=how,
        )
    else:
        status = FixStatus.PENDING
        verdict = pending_verdict(
            verdict,
            applied_at=timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S"),
            actor=action.actor_name,
        )
        line = text(
            gettext_noop(
                "%(name)s: the fix was sent%(how)s but the API does not show it after %(s)s s. "
                "It stays PENDING; audit again in a few minutes."
            ),
            name=spec.channel_name,
            how=how,
            s=int(settings.FAILOVER_VERIFY_TIMEOUT_S),
        )
    result = Outcome(
        ok=True,
        text=line if outcome.shown else text(gettext_noop("PENDING: %(message)s"), message=line),
        code=str(status),
        result={
            "status": str(status),
            "stop_start": outcome.stop_start,
            "verdict": verdict.verdict,
        },
    )
    message = line.render()
    with transaction.atomic():
        run.finish(result)  # first: a run that lost the action rolls all of this back
        FailoverFix.objects.filter(channel=channel, status__in=OPEN_FIXES).update(
            status=FixStatus.EXPIRED, resolved_at=now
        )
        FailoverFix.objects.create(
            channel=channel,
            action_id=action.pk,
            actor_id=action.actor_id,
            primary_input_id=spec.primary_input_id,
            expected=spec.expected,
            expected_fingerprint=expected_fp,
            status=status,
            applied_at=now,
            deadline=now + timedelta(seconds=settings.FAILOVER_PENDING_MAX_S),
            resolved_at=now if outcome.shown else None,
        )
        previous = FailoverAudit.objects.filter(channel=channel).first()
        audit_record(channel, verdict, previous, now, explained=True, notify_changes=False)
        notify(
            event="failover.fixed" if outcome.shown else "failover.fix_pending",
            subject=channel.cloud_id,
            severity="resolved" if outcome.shown else "warning",
            title=(
                text(gettext_noop("%(name)s: input failover repaired"), name=spec.channel_name)
                if outcome.shown
                else text(
                    gettext_noop("%(name)s: failover fix sent, not visible yet"),
                    name=spec.channel_name,
                )
            ).render(),
            text=message,
            facts={
                "Channel": spec.channel_name,
                "Primary": spec.primary_input_id,
                "Backup": spec.secondary_input_id,
                "By": action.actor_name,
            },
            actions=[] if outcome.shown else list(verdict.steps),
            dedup_key=f"failover.fix:{action.pk}",
        )
    logger.info("Failover fix of channel %s: %s (action %s)", channel.cloud_id, status, action.pk)
    return result
