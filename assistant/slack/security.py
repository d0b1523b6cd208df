"""Is this request Slack's? The signature (slack_sdk's ``SignatureVerifier``: HMAC-SHA256
of ``v0:{timestamp}:{body}`` with the signing secret, and a 5-minute window), then the replay
check: a signature seen before is a replay, refused, unless Slack says it retries.

All of it before any database query: an unsigned request costs a hash and a cache look-up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from rest_framework.exceptions import AuthenticationFailed
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

# Longer than the verifier's window (5 minutes either way): a signature cannot outlive it.
_SEEN_S = 11 * 60


@dataclass(frozen=True)
class Verified:
    """A request Slack signed; ``retry`` is Slack's ``X-Slack-Retry-Num`` (0: first try),
    ``repeat`` whether this very signature came before (a retry of the same delivery)."""

    retry: int
    repeat: bool


def slack_request_verify(*, body: bytes, headers: Mapping[str, str]) -> Verified:
    """Raise ``AuthenticationFailed`` (401) unless Slack signed ``body`` within 5 minutes
    and it is not a replay."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        logger.warning("Slack request refused: SLACK_SIGNING_SECRET is not set")
        raise AuthenticationFailed(_("Slack requests are not accepted: no signing secret set."))
    if not SignatureVerifier(secret).is_valid_request(body, dict(headers)):
        logger.info("Slack request refused: bad signature or outside the 5-minute window")
        raise AuthenticationFailed(_("The Slack signature is missing, wrong or too old."))
    try:
        retry = int(headers.get("X-Slack-Retry-Num") or 0)
    except ValueError:
        retry = 0
    signature = headers.get("X-Slack-Signature", "")
    first = cache.add(f"assistant:slack-signature:{signature}", 1, timeout=_SEEN_S)
    if not first and not retry:
        logger.warning("Slack request refused: replay of a signature already received")
        raise AuthenticationFailed(_("This Slack request was received before (a replay)."))
    return Verified(retry=retry, repeat=not first)
