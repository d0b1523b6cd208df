"""The audit of every channel: verdicts stored once, transitions notified once."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from broadcastops.cloud.types import AttachedInput
from broadcastops.i18n import choice_message
from broadcastops.inventory.models import CloudService, LiveChannel
from broadcastops.inventory.services.poll_types import PollReport
from broadcastops.inventory.services.protection import channel_protection_set
from broadcastops.notify import messages as nm
from broadcastops.notify.services import notify
from failover import messages as m
from failover.audit import (
    ChannelVerdict,
    FlowFacts,
    InputFacts,
    attached_from_json,
    failover_from_json,
    pending_verdict,
)
from failover.models import FailoverAudit, FailoverFix, Verdict
from failover.services.facts import (
    OPEN_FIXES,
    FixStatus,
    flow_facts,
    input_facts,
    shows,
    verdict_of,
    with_settings,
)

logger = logging.getLogger(__name__)
_local = threading.local()


@contextlib.contextmanager
def _after_poll_suppressed() -> Iterator[None]:
    _local.suppressed = True
    try:
        yield
    finally:
        _local.suppressed = False


def failover_audit_after_poll(report: PollReport) -> None:
    """The inventory's after-poll hook: audit what the poll just wrote."""
    if getattr(_local, "suppressed", False) or report.skipped:
        return
    listed = CloudService.STREAMLIVE not in report.errors
    failover_audit_run(polled_at=report.started_at if listed else None)


def _with_callback_note(channel: LiveChannel, verdict: ChannelVerdict) -> ChannelVerdict:
    """Channels without push callbacks, or whose callbacks do not arrive, say so."""
    if not channel.notify_url:
        note = m.NOTE_NO_CALLBACKS(channel=channel.name)
    elif channel.push_missing_since is not None:
        note = m.NOTE_CALLBACKS_MISSING(url=channel.notify_url)
    else:
        return verdict
    return dataclasses.replace(verdict, notes=(*verdict.notes, note))


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
    inputs = input_facts()
    flows_by_input = flow_facts()
    audits = {a.channel_id: a for a in FailoverAudit.objects.all()}
    fixes: dict[int, FailoverFix] = {}
    for open_fix in FailoverFix.objects.filter(status__in=OPEN_FIXES).order_by("applied_at"):
        fixes[open_fix.channel_id] = open_fix  # the newest open fix of each channel wins
    results = []
    for channel in channels:
        attached = attached_from_json(channel.attached_inputs)
        verdict = verdict_of(
            channel.cloud_id, channel.name, channel.state, attached, inputs, flows_by_input
        )
        verdict = _with_callback_note(channel, verdict)
        explained = False
        fix = fixes.get(channel.pk)
        if fix is not None:
            seen = _fix_reconcile(
                fix,
                _Audited(channel, verdict, attached, inputs, flows_by_input),
                polled_at=polled_at,
                now=now,
            )
            verdict, explained = seen.verdict, seen.explained
        audit_record(channel, verdict, audits.get(channel.pk), now, explained=explained)
        results.append(verdict)
    logger.info(
        "Failover audit: %s channels, %s unprotected",
        len(results),
        sum(1 for v in results if not v.protected),
    )
    return results


@dataclass(frozen=True, slots=True)
class _Audited:
    """One channel as the audit sees it from the inventory rows."""

    channel: LiveChannel
    verdict: ChannelVerdict
    attached: tuple[AttachedInput, ...]
    inputs: dict[str, InputFacts]
    flows_by_input: dict[str, list[FlowFacts]]


@dataclass(frozen=True, slots=True)
class _FixSeen:
    """The verdict to store, and whether a fix of ours explains a change of settings (so
    the change is not reported as a drift)."""

    verdict: ChannelVerdict
    explained: bool


def _fix_reconcile(
    fix: FailoverFix, audited: _Audited, *, polled_at: datetime | None, now: datetime
) -> _FixSeen:
    """Reconcile an open fix with what the inventory rows show of its channel."""
    channel, verdict, attached = audited.channel, audited.verdict, audited.attached
    if shows(attached, fix.primary_input_id, fix.expected):
        _fix_close(fix, FixStatus.CONFIRMED, now)
        logger.info("Failover fix %s on channel %s seen by the audit", fix.pk, channel.cloud_id)
        return _FixSeen(verdict, explained=True)
    synced_since = polled_at is not None and polled_at > fix.applied_at
    if fix.status == FixStatus.VERIFIED:
        if synced_since:
            # The API showed the fix, and a later poll no longer does: someone changed it.
            _fix_close(fix, FixStatus.EXPIRED, now)
            return _FixSeen(verdict, explained=False)
        # The API showed it; the inventory has not polled since: audit what the API showed.
        overlaid = with_settings(attached, fix.primary_input_id, failover_from_json(fix.expected))
        shown = verdict_of(
            channel.cloud_id,
            channel.name,
            channel.state,
            overlaid,
            audited.inputs,
            audited.flows_by_input,
        )
        return _FixSeen(shown, explained=True)
    if now >= fix.deadline:
        _fix_close(fix, FixStatus.EXPIRED, now)
        logger.warning(
            "Failover fix %s on channel %s never became visible", fix.pk, channel.cloud_id
        )
        return _FixSeen(verdict, explained=False)
    actor = fix.actor.get_username() if fix.actor else "system"
    at = timezone.localtime(fix.applied_at).strftime("%Y-%m-%d %H:%M:%S")
    return _FixSeen(pending_verdict(verdict, applied_at=at, actor=actor), explained=True)


def _fix_close(fix: FailoverFix, status: str, now: datetime) -> None:
    FailoverFix.objects.filter(pk=fix.pk, status=fix.status).update(status=status, resolved_at=now)


def audit_record(
    channel: LiveChannel,
    verdict: ChannelVerdict,
    previous: FailoverAudit | None,
    now: datetime,
    *,
    explained: bool,
    notify_changes: bool = True,
) -> FailoverAudit:
    """Store the verdict (its sentences as codes); tell the inventory whether the channel is
    protected; notify a drift or a loss of protection once (not per audit)."""
    values = {
        "verdict": verdict.verdict,
        "reason": verdict.reason.as_json(),
        "report": verdict.to_json(),
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
    # The inventory's "needs attention" counts a channel on air without protection.
    channel_protection_set(channel=channel, protected=verdict.protected, reason=verdict.reason)
    if notify_changes:
        _notify_transition(channel, verdict, before, explained=explained)
    return audit


_SAFE = (Verdict.OK, Verdict.PENDING)


def _notify_transition(
    channel: LiveChannel,
    verdict: ChannelVerdict,
    before: tuple[str, str] | None,
    *,
    explained: bool,
) -> None:
    """``before``: (verdict, fingerprint) of the previous audit, or None for the first."""
    facts = {
        nm.FACT_CHANNEL(): channel.name,
        m.FACT_VERDICT(): choice_message(m.VERDICT, verdict.verdict),
        m.FACT_PRIMARY(): verdict.mapping.primary_id or "?",
        m.FACT_BACKUP(): verdict.mapping.backup_id or "?",
    }
    unprotected = verdict.verdict not in _SAFE
    # A drift: the settings changed since the last audit, and no fix of ours explains it.
    if before is not None and before[1] and before[1] != verdict.fingerprint and not explained:
        logger.warning(
            "Failover settings of channel %s changed outside BroadcastOps: now %s",
            channel.cloud_id,
            verdict.verdict,
        )
        notify(
            event="failover.drift",
            subject=channel.cloud_id,
            severity="critical" if unprotected else "warning",
            title=m.DRIFT_TITLE(name=channel.name),
            text=m.DRIFT_TEXT(reason=verdict.reason),
            facts={**facts, m.FACT_BEFORE(): choice_message(m.VERDICT, before[0])},
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
            title=m.UNPROTECTED_TITLE(name=channel.name),
            text=verdict.reason,
            facts=facts,
            actions=list(verdict.steps[:8]),
            dedup_key=f"failover.unprotected:{channel.cloud_id}:{verdict.fingerprint}",
        )
