"""``notify()``: the one entry for every alert; delivery with bounded retries and a log."""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from broadcastops.i18n import Message, Text, language_active, language_supported
from broadcastops.notify import messages as m
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


Said = Message | str  # a message, or text that is not ours (stored as it is)


def _message(value: Any) -> Message:
    if isinstance(value, Message):
        return value
    if value is None or isinstance(value, str | int | float):
        return Text("" if value is None else str(value))
    # A MessageKind not called, a lazy string: it would be stored as its repr.
    raise TypeError(f"Not a message or text: {value!r}")


def _facts_json(facts: Mapping[Message, Any] | Mapping[str, Any] | None) -> list[list[Any]]:
    return [[_message(k).as_json(), _message(v).as_json()] for k, v in (facts or {}).items()]


def notify(
    *,
    event: str,
    subject: str,
    severity: str,
    title: Said,
    text: Said = "",
    facts: Mapping[Message, Any] | Mapping[str, Any] | None = None,
    actions: Iterable[Said] = (),
    dedup_key: str | None = None,
    dedup_window_s: int | None = None,
) -> Notification | None:
    """Record an alert and send it after commit, unless it repeats one sent recently.

    ``title``, ``text``, the facts' labels and values, and ``actions`` are messages
    (``broadcastops.i18n``), stored as codes and rendered in each recipient's language; a
    plain string is kept as it is (a cloud's error, a name).

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
            stored = {
                "facts": _facts_json(facts),
                "actions": [_message(a).as_json() for a in actions],
            }
            if count + 1 >= settings.NOTIFY_FLAP_THRESHOLD:
                minutes = settings.NOTIFY_FLAP_WINDOW_S // 60
                row = Notification.objects.create(
                    event="flapping",
                    subject=subject,
                    dedup_key=flapping_key,
                    severity=Severity.WARNING,
                    title=m.FLAPPING_TITLE(subject=subject).as_json(),
                    text=m.FLAPPING_TEXT(
                        count=count + 1, minutes=minutes, subject=subject, latest=_message(title)
                    ).as_json(),
                    **stored,
                )
            else:
                row = Notification.objects.create(
                    event=event,
                    subject=subject,
                    dedup_key=dedup_key,
                    severity=severity,
                    title=_message(title).as_json(),
                    text=_message(text).as_json(),
                    **stored,
                )
            transaction.on_commit(lambda: _enqueue(row.pk))
            logger.info("Notification %s %s %s queued", row.pk, row.event, subject)
            return row
    except Exception:
        logger.exception("Could not record notification %s for %s", event, subject)
        return None


@dataclass(frozen=True)
class RenderedNotification:
    """A notification as one reader reads it."""

    title: str
    text: str
    facts: list[tuple[str, str]]
    actions: list[str]


def _facts_of(stored: Any) -> list[tuple[Message, Message]]:
    if isinstance(stored, dict):  # a row from before codes: {label: value}
        return [(Text(str(k)), Message.from_json(v)) for k, v in stored.items()]
    return [(Message.from_json(k), Message.from_json(v)) for k, v in stored or ()]


def notification_language() -> str:
    """The language notifications are delivered in (``NOTIFY_LANGUAGE``; per-user later)."""
    return language_supported(settings.NOTIFY_LANGUAGE) or settings.LANGUAGE_CODE


def notification_render(
    *, notification: Notification, language: str | None = None
) -> RenderedNotification:
    """The notification's texts in ``language`` (default: the active one)."""
    with language_active(language):
        return RenderedNotification(
            title=notification.title_message.render(),
            text=notification.text_message.render(),
            facts=[(k.render(), v.render()) for k, v in _facts_of(notification.facts)],
            actions=[Message.from_json(a).render() for a in notification.actions or ()],
        )


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
    language = notification_language()
    rendered = notification_render(notification=row, language=language)
    payload = slack_blocks(
        severity=row.severity,
        title=rendered.title,
        text=rendered.text,
        facts=rendered.facts,
        actions=rendered.actions,
        created_at=row.created_at,
        language=language,
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
