"""StreamLive push callbacks (``POST /api/v1/tencent/events``): verify, store once, refresh.

A channel whose ``EventNotifySettings.PushEventSettings`` name this console's URL makes the
cloud call it when an RTMP input's push succeeds (``event_type`` 329) or is interrupted (330)
(reference/tencent-media-api.md 2.3). The body is flat JSON: ``appid``, ``channel_id``,
``event_type``, ``input_id``, ``interface``, ``pipelie`` (sic: the documented spelling;
``pipeline`` is read too), ``sign``, ``stream_id``, ``t``; ``t`` is when the signature
expires (the cloud sets it 10 minutes ahead) and ``sign`` = MD5(key + t).

A callback is checked in the order that costs least first: its shape, its freshness, its
signature with the channel's key from settings (never the database), then the channel, and it
is stored once (its fields are a unique row, so a replay, even a concurrent one, loses). It
only *triggers* work: the channel alone is refreshed in a Celery task at once, and again when
the cloud's failover should have happened (LossThreshold after the loss) and one statistics
sample later. The refresh records events, status and notifications exactly as the poll does,
so a switch that the callback, the statistics and the logs all report is still stored once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from broadcastops.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from broadcastops.inventory.models import LiveChannel, PushEvent

logger = logging.getLogger(__name__)

EVENT_TYPES = (PushEvent.Type.PUSHED, PushEvent.Type.INTERRUPTED)
DEFAULT_LOSS_THRESHOLD_MS = 3000  # the cloud's default LossThreshold (fact sheet 2.2)


@dataclass(frozen=True)
class PushCallback:
    """The fields of one callback that the console uses."""

    channel_id: str
    input_id: str
    pipeline: int
    event_type: int
    t: int
    sign: str


def push_sign(key: str, t: int) -> str:
    """The documented signature: MD5 of the key followed by ``t`` in decimal."""
    return hashlib.md5(f"{key}{t}".encode(), usedforsecurity=False).hexdigest()


def notify_key_for(channel_id: str) -> str:
    """The channel's callback key, from the environment (``TENCENT_EVENTS_NOTIFY_KEYS``,
    else ``TENCENT_EVENTS_NOTIFY_KEY``); "" when none is configured."""
    keys: dict[str, str] = settings.TENCENT_EVENTS_NOTIFY_KEYS
    return str(keys.get(channel_id) or settings.TENCENT_EVENTS_NOTIFY_KEY)


def _integer(body: dict[str, Any], *names: str) -> int:
    for name in names:
        value = body.get(name)
        if isinstance(value, bool):
            break
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit() and len(value) <= 12:
            return int(value)
    raise ValidationFailed(
        _("The callback has no valid %(field)s (a whole number).") % {"field": names[0]},
        code="invalid_callback",
        detail={"field": names[0]},
    )


def _text(body: dict[str, Any], name: str, max_length: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ValidationFailed(
            _("The callback has no valid %(field)s.") % {"field": name},
            code="invalid_callback",
            detail={"field": name},
        )
    return value


def push_callback_parse(body: Any) -> PushCallback:
    """The callback's fields, or ``ValidationFailed`` naming the first one that is wrong."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            _("A callback is a JSON object with the documented fields."), code="invalid_callback"
        )
    callback = PushCallback(
        channel_id=_text(body, "channel_id", 64),
        input_id=_text(body, "input_id", 64),
        pipeline=_integer(body, "pipelie", "pipeline"),
        event_type=_integer(body, "event_type"),
        t=_integer(body, "t"),
        sign=_text(body, "sign", 64).lower(),
    )
    if callback.pipeline not in (0, 1):
        raise ValidationFailed(
            _("The callback's pipeline must be 0 or 1."),
            code="invalid_callback",
            detail={"field": "pipelie"},
        )
    if callback.event_type not in EVENT_TYPES:
        raise ValidationFailed(
            _("The callback's event_type must be 329 (push succeeded) or 330 (interrupted)."),
            code="invalid_callback",
            detail={"field": "event_type"},
        )
    return callback


def _check_fresh(callback: PushCallback, now: datetime) -> None:
    skew = settings.TENCENT_EVENTS_CLOCK_SKEW_S
    at = now.timestamp()
    if callback.t < at - skew:
        raise PermissionDenied(
            _("The callback's signature has expired (t is in the past); it is not accepted."),
            code="callback_expired",
            detail={"t": callback.t},
        )
    if callback.t > at + settings.TENCENT_EVENTS_VALIDITY_S + skew:
        raise PermissionDenied(
            _("The callback's t lies further ahead than a signature is valid; it is refused."),
            code="callback_expired",
            detail={"t": callback.t},
        )


def _check_signature(callback: PushCallback) -> None:
    key = notify_key_for(callback.channel_id)
    if not key:
        raise PermissionDenied(
            _(
                "This console has no callback key (TENCENT_EVENTS_NOTIFY_KEY), so it cannot "
                "verify callbacks."
            ),
            code="no_callback_key",
        )
    if not hmac.compare_digest(push_sign(key, callback.t), callback.sign):
        raise PermissionDenied(
            _("The callback's signature does not match this channel's key."),
            code="bad_signature",
        )


def push_event_accept(*, body: Any, now: datetime | None = None) -> PushEvent:
    """Verify one callback, store it once and schedule the channel's refresh (on commit).

    Raises ``ValidationFailed`` (400), ``PermissionDenied`` (403: stale, badly signed, no
    key), ``NotFound`` (404: a channel the console does not know) or ``Conflict`` (409: the
    same callback again)."""
    now = now or timezone.now()
    callback = push_callback_parse(body)
    _check_fresh(callback, now)
    _check_signature(callback)
    channel = LiveChannel.objects.filter(
        cloud_id=callback.channel_id, removed_at__isnull=True
    ).first()
    if channel is None:
        raise NotFound(
            _("No StreamLive channel %(id)s is known to this console.")
            % {"id": callback.channel_id},
            code="unknown_channel",
        )
    try:
        with transaction.atomic():
            event = PushEvent.objects.create(
                channel=channel,
                input_id=callback.input_id,
                pipeline=callback.pipeline,
                event_type=callback.event_type,
                expires_at=datetime.fromtimestamp(callback.t, tz=UTC),
                received_at=now,
            )
    except IntegrityError:
        raise Conflict(
            _("This callback was received already; a replay is not accepted."),
            code="callback_replayed",
        ) from None
    if channel.push_missing_since is not None:
        LiveChannel.objects.filter(pk=channel.pk).update(push_missing_since=None)
    delays = push_refresh_delays(channel=channel, callback=callback)
    transaction.on_commit(lambda: push_refresh_schedule(channel_id=channel.cloud_id, delays=delays))
    logger.info(
        "Push callback %s for channel %s input %s pipeline %s: refresh in %s s",
        callback.event_type,
        channel.cloud_id,
        callback.input_id,
        callback.pipeline,
        delays,
    )
    return event


def _loss_threshold_s(channel: LiveChannel, input_id: str) -> float | None:
    """The LossThreshold of ``input_id`` as a primary with a secondary, else None."""
    for attached in channel.attached_inputs or []:
        failover = attached.get("failover") or {}
        if attached.get("id") == input_id and failover.get("SecondaryInputId"):
            ms = failover.get("LossThreshold") or DEFAULT_LOSS_THRESHOLD_MS
            return float(ms) / 1000.0
    return None


def push_refresh_delays(*, channel: LiveChannel, callback: PushCallback) -> list[float]:
    """When to refresh the channel after this callback, in seconds from now: at once, and
    after an interruption of a primary input when its failover should have switched (and one
    statistics sample later); after a push came back, one sample later too."""
    delays = [0.0]
    sample = settings.INVENTORY_PUSH_SAMPLE_S
    if callback.event_type == PushEvent.Type.INTERRUPTED:
        threshold = _loss_threshold_s(channel, callback.input_id)
        if threshold is not None:
            switch = threshold + settings.INVENTORY_PUSH_FOLLOWUP_MARGIN_S
            delays += [switch, switch + sample]
    else:
        delays.append(sample)
    return delays


def push_refresh_schedule(*, channel_id: str, delays: list[float]) -> int:
    """Enqueue the channel's refreshes; callbacks of the same moment (both pipelines of one
    input, a cut of both inputs) share them: a refresh with the same delay queued less than
    ``INVENTORY_PUSH_COALESCE_S`` ago is not queued again. Returns how many were queued."""
    from broadcastops.inventory.tasks import channel_refresh_task

    queued = 0
    for delay in delays:
        key = f"inventory:push-refresh:{channel_id}:{delay:.1f}"
        if not cache.add(key, 1, timeout=settings.INVENTORY_PUSH_COALESCE_S):
            continue
        if delay > 0:
            channel_refresh_task.apply_async(args=[channel_id], countdown=delay)
        else:
            channel_refresh_task.delay(channel_id)
        queued += 1
    return queued


def push_missing(*, channel: LiveChannel, notify_url: str, occurred_at: datetime) -> bool:
    """Whether a switch the poll recorded at ``occurred_at`` came without any callback, on a
    channel whose callbacks are configured (the URL is probably unreachable from the cloud)."""
    if not notify_url:
        return False
    window = timedelta(seconds=settings.INVENTORY_PUSH_MISSING_WINDOW_S)
    return not PushEvent.objects.filter(
        channel=channel, received_at__gte=occurred_at - window
    ).exists()
