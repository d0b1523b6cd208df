"""``MCP_APPROVAL=slack``: a write an assistant asks for waits for an Operator's Approve.

The request (the tool, who asked through which client, the plan) is posted to the team's
Slack channel (``SLACK_WEBHOOK_URL``) with Approve and Deny buttons; the button's signed
interaction decides it by compare-and-set (pending -> approved/denied, before it expires), so
two operators pressing at once decide it once. The MCP tool waits, reading the row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from assistant.models import Approval
from assistant.slack import blocks
from broadcastops.errors import NotFound, UpstreamUnavailable
from broadcastops.i18n import language_active, language_supported

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = Approval.Status


def approval_request(
    *,
    tool: str,
    arguments: dict[str, Any],
    plan: Sequence[str],
    user: User | None,
    client_name: str,
) -> Approval:
    """Write the pending approval and post it to Slack for an Operator to decide."""
    from assistant.slack.handlers import SlackResponseError, slack_respond

    if not settings.SLACK_WEBHOOK_URL:
        raise UpstreamUnavailable(
            _("MCP_APPROVAL=slack needs SLACK_WEBHOOK_URL: nobody could approve."),
            code="approval_unavailable",
        )
    approval = Approval.objects.create(
        tool=tool,
        arguments=arguments,
        plan={"lines": list(plan)},
        requested_by=user,
        client_name=client_name[:100],
        expires_at=timezone.now() + timedelta(seconds=settings.MCP_APPROVAL_TIMEOUT_S),
    )
    with language_active(language_supported(settings.NOTIFY_LANGUAGE)):
        body = blocks.message(
            blocks.approval_blocks(
                approval_id=approval.pk,
                tool=tool,
                asked_by=user.get_username() if user else "-",
                client=client_name,
                plan=plan,
                expires_at=approval.expires_at,
            ),
            _("An assistant asks to run %(tool)s") % {"tool": tool},
        )
    try:
        slack_respond(settings.SLACK_WEBHOOK_URL, body)
    except SlackResponseError as exc:
        Approval.objects.filter(pk=approval.pk).update(status=Status.EXPIRED)
        raise UpstreamUnavailable(
            _("The approval request could not be posted to Slack; nothing was done."),
            code="approval_unavailable",
        ) from exc
    logger.info("Approval %s of %s asked by %s posted to Slack", approval.pk, tool, user)
    return approval


def approval_decide(
    *, approval_id: int, approve: bool, user: User | None, slack_ref: str
) -> Approval:
    """Approve or deny a pending approval that has not expired (compare-and-set: the first
    decision wins). Returns the row as it now is."""
    now = timezone.now()
    decided = Approval.objects.filter(
        pk=approval_id, status=Status.PENDING, expires_at__gt=now
    ).update(
        status=Status.APPROVED if approve else Status.DENIED,
        decided_by=user,
        decided_slack_user=slack_ref[:140],
        decided_at=now,
    )
    Approval.objects.filter(pk=approval_id, status=Status.PENDING, expires_at__lte=now).update(
        status=Status.EXPIRED
    )
    approval = Approval.objects.select_related("decided_by").filter(pk=approval_id).first()
    if approval is None:
        raise NotFound(_("No approval %(id)s.") % {"id": approval_id})
    logger.info(
        "Approval %s %s by %s (%s)",
        approval_id,
        approval.status if decided else f"already {approval.status}",
        slack_ref,
        user,
    )
    return approval


def approval_decided_text(approval: Approval) -> str:
    who = approval.decided_slack_user or "-"
    texts = {
        Status.APPROVED: "✅ " + _("%(tool)s #%(id)s approved by %(who)s."),
        Status.DENIED: "🚫 " + _("%(tool)s #%(id)s denied by %(who)s."),
        Status.EXPIRED: "⌛ " + _("%(tool)s #%(id)s expired before anyone decided."),
        Status.PENDING: "⏳ " + _("%(tool)s #%(id)s is still waiting."),
    }
    return texts[Status(approval.status)] % {"tool": approval.tool, "id": approval.pk, "who": who}


def approval_wait(*, approval_id: int, timeout_s: float | None = None) -> Approval:
    """Read the approval until it is decided or expires (then marked expired)."""
    deadline = time.monotonic() + (
        timeout_s if timeout_s is not None else settings.MCP_APPROVAL_TIMEOUT_S
    )
    while True:
        approval = Approval.objects.select_related("decided_by").get(pk=approval_id)
        if approval.status != Status.PENDING:
            return approval
        if time.monotonic() >= deadline or approval.expires_at <= timezone.now():
            Approval.objects.filter(pk=approval_id, status=Status.PENDING).update(
                status=Status.EXPIRED
            )
            approval.refresh_from_db()
            return approval
        time.sleep(settings.MCP_APPROVAL_POLL_S)
