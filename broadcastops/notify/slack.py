"""Slack incoming-webhook transport: Block Kit messages, and errors that say whether to retry."""

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import requests
from django.utils import timezone
from django.utils.translation import gettext as _

from broadcastops.i18n import language_active

logger = logging.getLogger(__name__)

SEVERITY_EMOJI = {
    "info": ":information_source:",
    "warning": ":warning:",
    "critical": ":rotating_light:",
    "resolved": ":white_check_mark:",
}


class DeliveryError(Exception):
    """Base of delivery failures."""


class DeliveryTransientError(DeliveryError):
    """Worth retrying: timeout, connection refused, 429, 5xx."""

    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DeliveryPermanentError(DeliveryError):
    """Retrying will not help: the webhook is revoked, the channel archived, the payload bad."""


def slack_blocks(
    *,
    severity: str,
    title: str,
    text: str,
    facts: Sequence[tuple[str, str]],
    actions: Sequence[str],
    created_at: datetime,
    language: str | None = None,
    mentions: str = "",
    note: str = "",
) -> dict[str, Any]:
    """A Block Kit message of rendered texts; ``text`` is the fallback shown by phones.
    Its own words (the "What to do" heading) are in ``language``."""
    with language_active(language):
        what_to_do = _("What to do")
    emoji = SEVERITY_EMOJI.get(severity, "")
    local = timezone.localtime(created_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{title}"[:150]}},
    ]
    if mentions or text:
        body = f"{mentions} {text}".strip()
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}})
    if facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{value}"[:2000]}
                    for name, value in facts[:10]
                ],
            }
        )
    if actions:
        steps = "\n".join(f"{n}. {step}" for n, step in enumerate(actions, start=1))
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{what_to_do}*\n{steps}"[:3000]},
            }
        )
    footer = f"BroadcastOps · {local}" + (f" · {note}" if note else "")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return {"text": f"{emoji} {mentions} {title}".strip().replace("  ", " "), "blocks": blocks}


def slack_post(*, webhook_url: str, payload: dict[str, Any], timeout_s: float) -> None:
    """POST one message; raise DeliveryTransientError or DeliveryPermanentError on failure."""
    try:
        response = requests.post(webhook_url, json=payload, timeout=timeout_s)
    except requests.Timeout as exc:
        raise DeliveryTransientError(f"Slack did not answer within {timeout_s:.0f} s") from exc
    except requests.RequestException as exc:
        raise DeliveryTransientError(f"Slack unreachable: {exc.__class__.__name__}") from exc
    if response.status_code == 200:
        return
    body = response.text[:200]
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = response.headers.get("Retry-After")
        raise DeliveryTransientError(
            f"Slack answered {response.status_code}: {body}",
            retry_after_s=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    # 400 invalid_payload, 403 action_prohibited / invalid_token, 404 no_service, 410 archived.
    raise DeliveryPermanentError(f"Slack refused the message ({response.status_code}): {body}")
