"""Failover use cases: audit every channel, plan a repair, apply it and verify it.

- ``failover_audit_run`` reads the inventory rows the poll synced (no cloud call), gives each
  channel a verdict, stores it, and notifies once when a channel becomes unprotected or its
  settings change behind the team's back (drift from the last audited fingerprint). It runs
  after every poll (``apps.FailoverConfig.ready`` registers it).
- ``failover_plan`` reads the channel fresh from StreamLive and returns the FailOverSettings
  before and after, for each input: only the primary's change.
- ``failover_apply`` claims the channel (one running action per channel: a concurrent fix is
  refused, not merged), sends the plan with the gateway's read-modify-write (everything but
  FailOverSettings goes back as read), falls back to stop -> modify -> start only when asked
  to, re-reads until the API shows the change (bounded), and records and notifies the outcome.
  No cloud call happens inside a database transaction.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from broadcastops.cloud import types
from broadcastops.cloud.errors import CloudError, CloudStateError
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.errors import ApplicationError, Conflict, ValidationFailed
from broadcastops.inventory.models import CloudService, LinkFlow, LiveChannel, LiveInput
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
    LOSS_THRESHOLD_MAX_MS,
    LOSS_THRESHOLD_MIN_MS,
    RECOVER_BEHAVIORS,
    SUPPORTED_INPUT_TYPES,
    ChannelVerdict,
    FlowFacts,
    InputFacts,
    Mapping,
    attached_from_json,
    channel_audit,
    failover_from_json,
    pending_verdict,
    settings_fingerprint,
)
from failover.models import FailoverAudit, FailoverFix, Verdict

logger = logging.getLogger(__name__)

FixStatus = FailoverFix.Status
_OPEN_FIXES = (FixStatus.PENDING, FixStatus.VERIFIED)
_local = threading.local()


# --- facts from the inventory -------------------------------------------------------------


def _input_facts(ids=None) -> dict[str, InputFacts]:
    rows = LiveInput.objects.all()
    if ids is not None:
        rows = rows.filter(cloud_id__in=list(ids))
    return {i.cloud_id: InputFacts(i.cloud_id, i.name, i.input_type) for i in rows}


def _flow_facts(ids=None) -> dict[str, list[FlowFacts]]:
    """Live flows by the input id they feed (matched by endpoint during the poll)."""
    rows = LinkFlow.objects.filter(removed_at__isnull=True, feeds_input__isnull=False)
    if ids is not None:
        rows = rows.filter(feeds_input__cloud_id__in=list(ids))
    by_input: dict[str, list[FlowFacts]] = {}
    for flow in rows.select_related("feeds_input"):
        facts = FlowFacts(flow.cloud_id, flow.name, flow.role, flow.feeds_input.cloud_id)
        by_input.setdefault(facts.feeds_input_id, []).append(facts)
    return by_input


def _audit(channel_id, name, state, attached, inputs, flows_by_input) -> ChannelVerdict:
    flows = [f for a in attached for f in flows_by_input.get(a.id, [])]
    return channel_audit(
        channel_id=channel_id,
        name=name,
        state=state,
        attached=attached,
        inputs=inputs,
        flows=flows,
    )


def failover_verdict_compute(*, channel: LiveChannel) -> ChannelVerdict:
    """The verdict of one channel from its inventory rows, without storing it (a read)."""
    attached = attached_from_json(channel.attached_inputs)
    ids = [a.id for a in attached]
    return _audit(
        channel.cloud_id, channel.name, channel.state, attached, _input_facts(ids), _flow_facts(ids)
    )


def _with_settings(
    attached: tuple[types.AttachedInput, ...], input_id: str, fo: types.FailOverSettings
) -> tuple[types.AttachedInput, ...]:
    return tuple(
        types.AttachedInput(id=a.id, failover=fo) if a.id == input_id else a for a in attached
    )


def _shows(attached, input_id: str, expected: dict) -> bool:
    current = next((a.failover for a in attached if a.id == input_id), None)
    return current is not None and current.to_api() == expected


# --- audit --------------------------------------------------------------------------------


@contextlib.contextmanager
def _after_poll_suppressed():
    _local.suppressed = True
    try:
        yield
    finally:
        _local.suppressed = False


def failover_audit_after_poll(report) -> None:
    """The inventory's after-poll hook: audit what the poll just wrote."""
    if getattr(_local, "suppressed", False) or report.skipped:
        return
    listed = CloudService.STREAMLIVE not in report.errors
    failover_audit_run(polled_at=report.started_at if listed else None)


def failover_audit_run(
    *, sync: bool = False, polled_at: datetime | None = None, now: datetime | None = None
) -> list[ChannelVerdict]:
    """Audit every channel from the inventory rows; store verdicts; notify transitions once.

    ``sync`` polls the clouds first (the command line does). ``polled_at`` is when the poll
    that wrote the rows started, so fixes applied before it are checked against the rows.
    """
    if sync:
        from broadcastops.inventory.services.sync import inventory_poll

        with _after_poll_suppressed():
            report = inventory_poll()
        if not report.skipped and CloudService.STREAMLIVE not in report.errors:
            polled_at = report.started_at
    now = now or timezone.now()
    channels = list(LiveChannel.objects.filter(removed_at__isnull=True).order_by("name"))
    inputs = _input_facts()
    flows_by_input = _flow_facts()
    audits = {a.channel_id: a for a in FailoverAudit.objects.all()}
    fixes: dict[int, FailoverFix] = {}
    for fix in FailoverFix.objects.filter(status__in=_OPEN_FIXES).order_by("applied_at"):
        fixes[fix.channel_id] = fix  # the newest open fix of each channel wins
    results = []
    for channel in channels:
        attached = attached_from_json(channel.attached_inputs)
        verdict = _audit(
            channel.cloud_id, channel.name, channel.state, attached, inputs, flows_by_input
        )
        verdict, explained = _fix_reconcile(
            channel,
            verdict,
            attached,
            fixes.get(channel.pk),
            inputs,
            flows_by_input,
            polled_at,
            now,
        )
        _audit_record(channel, verdict, audits.get(channel.pk), now, explained=explained)
        results.append(verdict)
    logger.info(
        "Failover audit: %s channels, %s unprotected",
        len(results),
        sum(1 for v in results if not v.protected),
    )
    return results


def _fix_reconcile(channel, verdict, attached, fix, inputs, flows_by_input, polled_at, now):
    """(verdict, whether a fix of ours explains a change of settings) for an open fix."""
    if fix is None:
        return verdict, False
    if _shows(attached, fix.primary_input_id, fix.expected):
        _fix_close(fix, FixStatus.CONFIRMED, now)
        logger.info("Failover fix %s on channel %s seen by the audit", fix.pk, channel.cloud_id)
        return verdict, True
    synced_since = polled_at is not None and polled_at > fix.applied_at
    if fix.status == FixStatus.VERIFIED:
        if synced_since:
            # The API showed the fix, and a later poll no longer does: someone changed it.
            _fix_close(fix, FixStatus.EXPIRED, now)
            return verdict, False
        # The API showed it; the inventory has not polled since: audit what the API showed.
        fo = failover_from_json(fix.expected)
        overlaid = _with_settings(attached, fix.primary_input_id, fo)
        return (
            _audit(channel.cloud_id, channel.name, channel.state, overlaid, inputs, flows_by_input),
            True,
        )
    if now >= fix.deadline:
        _fix_close(fix, FixStatus.EXPIRED, now)
        logger.warning(
            "Failover fix %s on channel %s never became visible", fix.pk, channel.cloud_id
        )
        return verdict, False
    actor = fix.actor.get_username() if fix.actor else "system"
    at = timezone.localtime(fix.applied_at).strftime("%Y-%m-%d %H:%M:%S")
    return pending_verdict(verdict, applied_at=at, actor=actor), True


def _fix_close(fix: FailoverFix, status: str, now) -> None:
    FailoverFix.objects.filter(pk=fix.pk, status=fix.status).update(status=status, resolved_at=now)


def _audit_record(
    channel: LiveChannel,
    verdict: ChannelVerdict,
    previous: FailoverAudit | None,
    now,
    *,
    explained: bool,
    notify_changes: bool = True,
) -> FailoverAudit:
    """Store the verdict; notify a drift or a loss of protection once (not per audit)."""
    values = {
        "verdict": verdict.verdict,
        "reason": verdict.reason,
        "report": verdict.to_dict(),
        "fingerprint": verdict.fingerprint,
        "audited_at": now,
    }
    before = (previous.verdict, previous.fingerprint) if previous is not None else None
    if previous is None:
        audit = FailoverAudit.objects.create(channel=channel, changed_at=now, **values)
    elif all(getattr(previous, k) == v for k, v in values.items() if k != "audited_at"):
        # Nothing new: no write, so a quiet poll stays quiet (audited_at is when the stored
        # verdict was last (re)computed with a difference; the run itself is not a change).
        audit = previous
    else:
        if previous.verdict != verdict.verdict:
            values["changed_at"] = now
        FailoverAudit.objects.filter(pk=previous.pk).update(**values)
        audit = previous
        for k, v in values.items():
            setattr(audit, k, v)
    if notify_changes:
        _notify_transition(channel, verdict, before, explained=explained)
    return audit


_SAFE = (Verdict.OK, Verdict.PENDING)


def _notify_transition(channel, verdict: ChannelVerdict, before, *, explained: bool) -> None:
    """``before``: (verdict, fingerprint) of the previous audit, or None for the first."""
    facts = {
        "Channel": channel.name,
        "Verdict": verdict.verdict,
        "Primary": verdict.mapping.primary_id or "?",
        "Backup": verdict.mapping.backup_id or "?",
    }
    unprotected = verdict.verdict not in _SAFE
    drift = before is not None and before[1] and before[1] != verdict.fingerprint and not explained
    if drift:
        logger.warning(
            "Failover settings of channel %s changed outside BroadcastOps: now %s",
            channel.cloud_id,
            verdict.verdict,
        )
        notify(
            event="failover.drift",
            subject=channel.cloud_id,
            severity="critical" if unprotected else "warning",
            title=_("%(name)s: input failover settings changed outside BroadcastOps")
            % {"name": channel.name},
            text=(
                _(
                    "Someone changed the channel in the Tencent console (or the API) since the "
                    "last audit. Now: %(reason)s"
                )
                % {"reason": verdict.reason}
            ),
            facts={**facts, "Before": before[0]},
            actions=list(verdict.steps[:8]),
            dedup_key=f"failover.drift:{channel.cloud_id}:{verdict.fingerprint}",
        )
        return
    if not unprotected:
        return
    became = (
        before[0] in _SAFE
        if before is not None
        # First audit of a channel: a deliberate OFF is not news; a misconfiguration is.
        else verdict.verdict != Verdict.OFF
    )
    if became:
        logger.warning(
            "Channel %s has no input failover protection: %s", channel.cloud_id, verdict.verdict
        )
        notify(
            event="failover.unprotected",
            subject=channel.cloud_id,
            severity="critical",
            title=_("%(name)s has no input failover protection") % {"name": channel.name},
            text=verdict.reason,
            facts=facts,
            actions=list(verdict.steps[:8]),
            dedup_key=f"failover.unprotected:{channel.cloud_id}:{verdict.fingerprint}",
        )


# --- plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputChange:
    input_id: str
    name: str
    role: str
    before: dict | None
    after: dict | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class Plan:
    """The FailOverSettings of each attached input before and after the repair."""

    channel_id: str
    channel_name: str
    state: str
    primary_input_id: str
    secondary_input_id: str
    loss_threshold_ms: int
    recover_behavior: str
    mapping: Mapping
    verdict: ChannelVerdict
    changes: tuple[InputChange, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def has_changes(self) -> bool:
        return any(c.changed for c in self.changes)

    @property
    def after_settings(self) -> types.FailOverSettings:
        return types.FailOverSettings(
            secondary_input_id=self.secondary_input_id,
            loss_threshold_ms=self.loss_threshold_ms,
            recover_behavior=self.recover_behavior,
        )

    def diff_lines(self) -> list[str]:
        """A diff of the channel's configuration: only FailOverSettings lines can change."""
        import json

        lines = [f"channel {self.channel_name} ({self.channel_id}), {self.state}"]
        for c in self.changes:
            label = f"  AttachedInputs[{c.input_id}]" + (f" {c.name}" if c.name else "")
            if c.role:
                label += f" [{c.role}]"
            lines.append(label)
            before = json.dumps(c.before) if c.before is not None else "(absent)"
            after = json.dumps(c.after) if c.after is not None else "(absent)"
            if c.changed:
                lines.append(f"-   FailOverSettings: {before}")
                lines.append(f"+   FailOverSettings: {after}")
            else:
                lines.append(f"    FailOverSettings: {before}")
        lines.append("  (every other field is sent back unchanged)")
        return lines

    def to_dict(self) -> dict:
        return {
            "channel_id": self.channel_id,
            "channel": self.channel_name,
            "state": self.state,
            "verdict": self.verdict.verdict,
            "reason": self.verdict.reason,
            "primary_input_id": self.primary_input_id,
            "secondary_input_id": self.secondary_input_id,
            "loss_threshold_ms": self.loss_threshold_ms,
            "recover_behavior": self.recover_behavior,
            "mapping": {
                "confidence": self.mapping.confidence,
                "basis": self.mapping.basis,
                "main_flow": self.mapping.main_flow,
                "backup_flow": self.mapping.backup_flow,
            },
            "has_changes": self.has_changes,
            "changes": [
                {
                    "input_id": c.input_id,
                    "name": c.name,
                    "role": c.role,
                    "before": c.before,
                    "after": c.after,
                    "changed": c.changed,
                }
                for c in self.changes
            ],
            "diff": self.diff_lines(),
            "notes": list(self.notes),
        }


def _params_validate(loss_threshold_ms, recover_behavior) -> None:
    if not isinstance(loss_threshold_ms, int) or not (
        LOSS_THRESHOLD_MIN_MS <= loss_threshold_ms <= LOSS_THRESHOLD_MAX_MS
    ):
        raise ValidationFailed(
            _("The loss threshold must be between 1000 and 86400000 ms (3000 is recommended)."),
            detail={"loss_threshold_ms": loss_threshold_ms},
        )
    if recover_behavior not in RECOVER_BEHAVIORS:
        raise ValidationFailed(
            _("The recover behaviour is CURRENT_PREFERRED or PRIMARY_PREFERRED."),
            detail={"recover_behavior": recover_behavior},
        )


def _plan_build(
    cloud: types.LiveChannel,
    *,
    secondary_input_id: str | None,
    primary_input_id: str | None,
    loss_threshold_ms: int,
    recover_behavior: str,
) -> Plan:
    ids = list(cloud.input_ids)
    inputs = _input_facts(ids)
    verdict = _audit(
        cloud.id, cloud.name, cloud.state, cloud.attached_inputs, inputs, _flow_facts(ids)
    )
    mapping = verdict.mapping
    attached = {a.id: a for a in cloud.attached_inputs}
    primary = primary_input_id or ""
    secondary = secondary_input_id or ""
    if not primary and verdict.protected:
        # Already protected: keep the configured pair unless the operator names another.
        configured = [
            i.input_id for i in verdict.inputs if i.failover and i.failover["SecondaryInputId"]
        ]
        primary = mapping.primary_id if mapping.primary_id in configured else configured[0]
        secondary = secondary or attached[primary].failover.secondary_input_id
    if not primary:
        primary = mapping.primary_id
        if not primary and secondary and len(ids) == 2:
            primary = next(i for i in ids if i != secondary)
    if not secondary:
        secondary = mapping.backup_id if mapping.backup_id != primary else ""
        if not secondary and primary and len(ids) == 2:
            secondary = next(i for i in ids if i != primary)
    choices = {"inputs": [{"id": i, "name": (inputs.get(i) or InputFacts(i)).name} for i in ids]}
    if len(ids) < 2:
        raise ValidationFailed(
            _("%(name)s has only one input attached: attach a backup input first.")
            % {"name": cloud.name},
            code="no_backup_input",
            detail=choices,
        )
    if not primary or not secondary:
        raise ValidationFailed(
            _(
                "Cannot tell which input of %(name)s is MAIN and which BACKUP: no StreamLink flow "
                "or name decides it. Choose the backup input (and the primary if needed)."
            )
            % {"name": cloud.name},
            code="ambiguous",
            detail=choices,
        )
    for role, input_id in (("primary", primary), ("secondary", secondary)):
        if input_id not in attached:
            raise ValidationFailed(
                _("Input %(input)s is not attached to %(name)s.")
                % {"input": input_id, "name": cloud.name},
                code="invalid_secondary" if role == "secondary" else "invalid_primary",
                detail=choices,
            )
    if primary == secondary:
        raise ValidationFailed(
            _("The backup input must be another input than the primary."),
            code="invalid_secondary",
            detail=choices,
        )
    primary_type = (inputs.get(primary) or InputFacts(primary)).type
    secondary_type = (inputs.get(secondary) or InputFacts(secondary)).type
    if primary_type and primary_type not in SUPPORTED_INPUT_TYPES:
        raise ValidationFailed(
            _("%(input)s is a %(type)s input: StreamLive fails over RTMP_PUSH and RTP_PUSH only.")
            % {"input": primary, "type": primary_type},
            code="unsupported_input_type",
        )
    if primary_type and secondary_type and primary_type != secondary_type:
        raise ValidationFailed(
            _("The backup input is %(b)s but the primary is %(p)s: they must be of the same type.")
            % {"b": secondary_type, "p": primary_type},
            code="invalid_secondary",
            detail=choices,
        )
    after = types.FailOverSettings(
        secondary_input_id=secondary,
        loss_threshold_ms=loss_threshold_ms,
        recover_behavior=recover_behavior,
    ).to_api()
    role_of = {primary: "primary", secondary: "backup"}
    changes = []
    for a in cloud.attached_inputs:
        before = a.failover.to_api() if a.failover is not None else None
        changes.append(
            InputChange(
                input_id=a.id,
                name=(inputs.get(a.id) or InputFacts(a.id)).name,
                role=role_of.get(a.id, ""),
                before=before,
                after=after if a.id == primary else before,
            )
        )
    notes = list(verdict.notes)
    chosen = primary_input_id or secondary_input_id
    if (
        chosen
        and mapping.resolved
        and (primary, secondary) != (mapping.primary_id, mapping.backup_id)
    ):
        notes.append(
            _("The chosen pair differs from the flows' mapping (%(p)s → %(b)s).")
            % {"p": mapping.primary_id, "b": mapping.backup_id}
        )
    return Plan(
        channel_id=cloud.id,
        channel_name=cloud.name,
        state=cloud.state,
        primary_input_id=primary,
        secondary_input_id=secondary,
        loss_threshold_ms=loss_threshold_ms,
        recover_behavior=recover_behavior,
        mapping=mapping,
        verdict=verdict,
        changes=tuple(changes),
        notes=tuple(notes),
    )


def failover_plan(
    *,
    channel: LiveChannel,
    secondary_input_id: str | None = None,
    primary_input_id: str | None = None,
    loss_threshold_ms: int = DEFAULT_LOSS_THRESHOLD_MS,
    recover_behavior: str = DEFAULT_RECOVER_BEHAVIOR,
) -> Plan:
    """The repair of ``channel``'s failover as a before/after diff, from a fresh read."""
    _params_validate(loss_threshold_ms, recover_behavior)
    try:
        cloud = tencent_gateway().live_channel_get(channel_id=channel.cloud_id)
    except CloudError as exc:
        raise cloud_error_as_application_error(exc, channel.name) from exc
    return _plan_build(
        cloud,
        secondary_input_id=secondary_input_id,
        primary_input_id=primary_input_id,
        loss_threshold_ms=loss_threshold_ms,
        recover_behavior=recover_behavior,
    )


# --- apply --------------------------------------------------------------------------------


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
            if _shows(last.attached_inputs, primary, expected):
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
    _params_validate(loss_threshold_ms, recover_behavior)
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
            plan = _plan_build(
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
    inputs = _input_facts(a.id for a in attached)
    verdict = _audit(plan.channel_id, name, state, attached, inputs, _flow_facts(inputs))
    expected_fp = settings_fingerprint(
        _with_settings(attached, plan.primary_input_id, plan.after_settings)
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
        FailoverFix.objects.filter(channel=channel, status__in=_OPEN_FIXES).update(
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
        _audit_record(channel, verdict, previous, now, explained=True, notify_changes=False)
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
