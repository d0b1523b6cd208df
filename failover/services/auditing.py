"""The audit of every channel: verdicts stored once, transitions notified once."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from datetime import datetime

from django.utils import timezone

from broadcastops.i18n import choice_message
from broadcastops.inventory.models import CloudService, LiveChannel
from broadcastops.inventory.services.protection import channel_protection_set
from broadcastops.notify import messages as nm
from broadcastops.notify.services import notify
from failover import messages as m
from failover.audit import (
    ChannelVerdict,
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
    for fix in FailoverFix.objects.filter(status__in=OPEN_FIXES).order_by("applied_at"):
        fixes[fix.channel_id] = fix  # the newest open fix of each channel wins
    results = []
    for channel in channels:
        attached = attached_from_json(channel.attached_inputs)
        verdict = verdict_of(
            channel.cloud_id, channel.name, channel.state, attached, inputs, flows_by_input
        )
        verdict = _with_callback_note(channel, verdict)
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
        audit_record(channel, verdict, audits.get(channel.pk), now, explained=explained)
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
    if shows(attached, fix.primary_input_id, fix.expected):
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
        overlaid = with_settings(attached, fix.primary_input_id, fo)
        return (
            verdict_of(
                channel.cloud_id, channel.name, channel.state, overlaid, inputs, flows_by_input
            ),
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


def audit_record(
    channel: LiveChannel,
    verdict: ChannelVerdict,
    previous: FailoverAudit | None,
    now,
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


def _notify_transition(channel, verdict: ChannelVerdict, before, *, explained: bool) -> None:
    """``before``: (verdict, fingerprint) of the previous audit, or None for the first."""
    facts = {
        nm.FACT_CHANNEL(): channel.name,
        m.FACT_VERDICT(): choice_message(m.VERDICT, verdict.verdict),
        m.FACT_PRIMARY(): verdict.mapping.primary_id or "?",
        m.FACT_BACKUP(): verdict.mapping.backup_id or "?",
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
