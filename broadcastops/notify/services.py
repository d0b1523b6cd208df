"""``notify()``: the one entry for every alert; delivery with bounded retries and a log."""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from broadcastops.notify.models import Notification
from broadcastops.notify.slack import (
    DeliveryPermanentError,
    DeliveryTransientError,
    slack_blocks,
    slack_post,
)

logger = logging.getLogger(__name__)

Severity = Notification.Severity
Status = Notification.Status


def _suppress(row: Notification) -> Notification:
    Notification.objects.filter(pk=row.pk).update(suppressed_count=F("suppressed_count") + 1)
    row.refresh_from_db(fields=["suppressed_count"])
    return row


def _enqueue(notification_id: int) -> None:
    from broadcastops.notify.tasks import notification_deliver_task

    try:
        notification_deliver_task.delay(notification_id)
    except Exception:  # a broker outage must not break whoever raised the alert
        logger.exception("Could not enqueue delivery of notification %s", notification_id)


def notify(
    *,
    event: str,
    subject: str,
    severity: str,
    title: str,
    text: str = "",
    facts: dict[str, Any] | None = None,
    actions: list[str] | tuple[str, ...] = (),
    dedup_key: str | None = None,
    dedup_window_s: int | None = None,
) -> Notification | None:
    """Record an alert and send it after commit, unless it repeats one sent recently.

    - The same ``dedup_key`` (default ``event:subject``) inside ``dedup_window_s`` is
      counted on the first row instead of being sent again.
    - A subject with ``NOTIFY_FLAP_THRESHOLD`` alerts inside ``NOTIFY_FLAP_WINDOW_S`` is
      reported once as flapping; its further alerts are counted, not sent.

    Never raises: an alert that cannot be recorded is logged, and the caller goes on.
    """
    dedup_key = dedup_key or f"{event}:{subject}"
    window = timedelta(
        seconds=settings.NOTIFY_DEDUP_WINDOW_S if dedup_window_s is None else dedup_window_s
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            recent = (
                Notification.objects.filter(dedup_key=dedup_key, created_at__gte=now - window)
                .order_by("-created_at")
                .first()
            )
            if recent is not None:
                return _suppress(recent)
            flap_since = now - timedelta(seconds=settings.NOTIFY_FLAP_WINDOW_S)
            flapping_key = f"flapping:{subject}"
            flapping = Notification.objects.filter(
                dedup_key=flapping_key, created_at__gte=flap_since
            ).first()
            if flapping is not None:
                return _suppress(flapping)
            count = Notification.objects.filter(subject=subject, created_at__gte=flap_since).count()
            if count + 1 >= settings.NOTIFY_FLAP_THRESHOLD:
                minutes = settings.NOTIFY_FLAP_WINDOW_S // 60
                row = Notification.objects.create(
                    event="flapping",
                    subject=subject,
                    dedup_key=flapping_key,
                    severity=Severity.WARNING,
                    title=f"{subject} is flapping",
                    text=(
                        f"{count + 1} alerts in the last {minutes} min; further alerts for "
                        f"{subject} are held back for {minutes} min. Latest: {title}"
                    ),
                    facts=facts or {},
                    actions=list(actions),
                )
            else:
                row = Notification.objects.create(
                    event=event,
                    subject=subject,
                    dedup_key=dedup_key,
                    severity=severity,
                    title=title,
                    text=text,
                    facts=facts or {},
                    actions=list(actions),
                )
            transaction.on_commit(lambda: _enqueue(row.pk))
            logger.info("Notification %s %s %s queued", row.pk, row.event, subject)
            return row
    except Exception:
        logger.exception("Could not record notification %s for %s", event, subject)
        return None


def notification_deliver(*, notification_id: int) -> Notification:
    """Send one pending notification; idempotent (a sent one is not sent again).

    Raises ``DeliveryTransientError`` while attempts remain, so the task retries; the last
    failure marks the row FAILED.
    """
    row = Notification.objects.get(pk=notification_id)
    if row.status != Status.PENDING:
        return row
    webhook_url = settings.SLACK_WEBHOOK_URL
    if not webhook_url:
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(status=Status.SKIPPED)
        row.refresh_from_db()
        return row
    payload = slack_blocks(
        severity=row.severity,
        title=row.title,
        text=row.text,
        facts=row.facts,
        actions=row.actions,
        created_at=row.created_at,
    )
    attempts = row.attempts + 1
    try:
        slack_post(webhook_url=webhook_url, payload=payload, timeout_s=settings.NOTIFY_TIMEOUT_S)
    except DeliveryTransientError as exc:
        final = attempts >= settings.NOTIFY_MAX_ATTEMPTS
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(
            attempts=attempts,
            last_error=str(exc),
            status=Status.FAILED if final else Status.PENDING,
        )
        logger.warning("Notification %s attempt %s failed: %s", row.pk, attempts, exc)
        if not final:
            raise
    except DeliveryPermanentError as exc:
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(
            attempts=attempts, last_error=str(exc), status=Status.FAILED
        )
        logger.error("Notification %s refused by Slack: %s", row.pk, exc)
    else:
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(
            attempts=attempts, status=Status.SENT, sent_at=timezone.now(), last_error=""
        )
    row.refresh_from_db()
    return row
