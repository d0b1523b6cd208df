"""Reads of the failover audit: the list, one channel's verdict (the schedules' pre-check)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from broadcastops.i18n import Message, messages_from_json
from broadcastops.inventory.models import LiveChannel
from failover.models import FailoverAudit, Verdict


@dataclass(frozen=True)
class FailoverStatus:
    """One channel's failover verdict, as a pre-broadcast check reads it (sentences are
    messages: ``str()`` renders them in the active language, ``.render(language)`` in another)."""

    channel_id: str
    verdict: str
    protected: bool
    reason: Message
    steps: tuple[Message, ...]
    audited_at: datetime | None  # None: never audited, computed now from the inventory


def failover_audit_list(
    *, verdict: str = "", unprotected: bool | None = None
) -> QuerySet[FailoverAudit]:
    audits = FailoverAudit.objects.filter(channel__removed_at__isnull=True).select_related(
        "channel"
    )
    if verdict:
        audits = audits.filter(verdict=verdict)
    if unprotected is True:
        audits = audits.exclude(verdict=Verdict.OK)
    elif unprotected is False:
        audits = audits.filter(verdict=Verdict.OK)
    return audits.order_by("channel__name")


def failover_audit_get(*, channel: LiveChannel) -> FailoverAudit | None:
    return FailoverAudit.objects.filter(channel=channel).first()


def failover_verdict_get(*, channel: LiveChannel) -> FailoverStatus:
    """The last audited verdict of ``channel``; computed from the inventory if never audited."""
    audit = failover_audit_get(channel=channel)
    if audit is not None:
        return FailoverStatus(
            channel_id=channel.cloud_id,
            verdict=audit.verdict,
            protected=audit.protected,
            reason=audit.reason_message,
            steps=tuple(messages_from_json(audit.report.get("steps"))),
            audited_at=audit.audited_at,
        )
    from failover.services import failover_verdict_compute

    verdict = failover_verdict_compute(channel=channel)
    return FailoverStatus(
        channel_id=channel.cloud_id,
        verdict=verdict.verdict,
        protected=verdict.protected,
        reason=verdict.reason,
        steps=verdict.steps,
        audited_at=None,
    )
