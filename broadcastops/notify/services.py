"""``notify()``: the one entry for every alert; delivery with bounded retries and a log."""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from broadcastops.i18n import Message, Text, language_active, language_supported
from broadcastops.notify import messages as m
from broadcastops.notify.models import Notification, NotifyProfile
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
    recipients: Iterable[Any] = (),
    once: bool = False,
) -> Notification | None:
    """Record an alert and send it after commit, unless it repeats one sent recently.

    ``title``, ``text``, the facts' labels and values, and ``actions`` are messages
    (``broadcastops.i18n``), stored as codes and rendered in each recipient's language; a
    plain string is kept as it is (a cloud's error, a name).

    - The same ``dedup_key`` (default ``event:subject``) inside ``dedup_window_s`` is
      counted on the first row instead of being sent again.
    - A subject with ``NOTIFY_FLAP_THRESHOLD`` alerts inside ``NOTIFY_FLAP_WINDOW_S`` is
      reported once as flapping; its further alerts are counted, not sent.

    ``once``: an event that happens once by construction (a schedule's step, keyed by its
    id): it is never folded into a subject's flapping report nor held by the throttle, so it
    is sent at least once; its key still de-duplicates it (a step run twice tells once).

    ``recipients`` (users or their ids) are mentioned in Slack by their Slack id and
    e-mailed if they chose e-mail (``NotifyProfile``), each in their own language.

    Never raises: an alert that cannot be recorded is logged, and the caller goes on.
    """
    recipient_ids = sorted({getattr(r, "pk", r) for r in recipients if r is not None})
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
            if flapping is not None and not once:
                return _suppress(flapping)
            count = Notification.objects.filter(subject=subject, created_at__gte=flap_since).count()
            stored = {
                "recipients": recipient_ids,
                "facts": _facts_json(facts),
                "actions": [_message(a).as_json() for a in actions],
            }
            if not once and count + 1 >= settings.NOTIFY_FLAP_THRESHOLD:
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
                    throttled=not once,
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
    """The language of a notification nobody in particular reads (``NOTIFY_LANGUAGE``)."""
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


@dataclass(frozen=True)
class Recipient:
    """One user a notification is for, with their choices (defaults without a profile)."""

    user_id: int
    email: str
    slack_user_id: str
    by_slack: bool
    by_email: bool
    language: str


def _recipients(row: Notification) -> list[Recipient]:
    if not row.recipients:
        return []
    users = get_user_model().objects.filter(pk__in=row.recipients, is_active=True)
    profiles = {p.user_id: p for p in NotifyProfile.objects.filter(user_id__in=row.recipients)}
    default = notification_language()
    out = []
    for user in users.order_by("pk"):
        profile = profiles.get(user.pk)
        language = language_supported(profile.language) if profile else None
        out.append(
            Recipient(
                user_id=user.pk,
                email=user.email,
                slack_user_id=profile.slack_user_id if profile else "",
                by_slack=profile.by_slack if profile else True,
                by_email=profile.by_email if profile else False,
                language=language or default,
            )
        )
    return out


def _email_body(rendered: RenderedNotification, language: str) -> str:
    with language_active(language):
        heading = _("What to do")
    lines = [rendered.text, ""] if rendered.text else []
    lines += [f"{name}: {value}" for name, value in rendered.facts]
    if rendered.actions:
        lines += ["", heading]
        lines += [f"{n}. {a}" for n, a in enumerate(rendered.actions, start=1)]
    return "\n".join(lines).strip() + "\n"


def _emails_send(row: Notification, recipients: list[Recipient]) -> list[str]:
    """E-mail the recipients who chose it (Django's mail backend), once per notification.
    Returns the errors (the Slack post goes on regardless)."""
    if row.emailed_at is not None:
        return []
    errors = []
    sent = False
    for recipient in recipients:
        if not (recipient.by_email and recipient.email):
            continue
        rendered = notification_render(notification=row, language=recipient.language)
        try:
            send_mail(
                subject=rendered.title[:200],
                message=_email_body(rendered, recipient.language),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[recipient.email],
            )
            sent = True
        except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
            logger.warning(
                "Notification %s: e-mail to user %s failed: %s", row.pk, recipient.user_id, exc
            )
            errors.append(f"e-mail to user {recipient.user_id}: {exc}")
    if sent:
        Notification.objects.filter(pk=row.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
    return errors


def _throttled(row: Notification, now: datetime) -> int | None:
    """``None`` if ``row`` may be posted; else the throttle holds it. At most
    ``NOTIFY_RATE_MAX`` non-critical posts per ``NOTIFY_RATE_WINDOW_S`` go to Slack; critical
    ones always go at once."""
    if row.severity == Severity.CRITICAL or not row.throttled:
        return None
    since = now - timedelta(seconds=settings.NOTIFY_RATE_WINDOW_S)
    posted = (
        Notification.objects.filter(status=Status.SENT, sent_at__gte=since)
        .exclude(severity=Severity.CRITICAL)
        .count()
    )
    return posted if posted >= settings.NOTIFY_RATE_MAX else None


def _held_recently(now: datetime) -> int:
    """Alerts the throttle held back inside its window (said in the next post)."""
    since = now - timedelta(seconds=settings.NOTIFY_RATE_WINDOW_S)
    return Notification.objects.filter(status=Status.HELD, created_at__gte=since).count()


def _claim(pk: int, claimant: str, now: datetime) -> bool:
    """Hold a pending row for one delivery: free, its hold ended (a delivery died), or
    already this claimant's (the same task retrying). One UPDATE, so two workers never both
    win."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if claimant:
        free |= Q(claimed_by=claimant)
    return bool(
        Notification.objects.filter(free, pk=pk, status=Status.PENDING).update(
            claimed_until=now + timedelta(seconds=settings.NOTIFY_CLAIM_S), claimed_by=claimant
        )
    )


def notification_deliver(*, notification_id: int, claimant: str = "") -> Notification:
    """Send one pending notification once, whoever else is given it.

    E-mail first (to the recipients who chose it, once), then Slack (mentioning the
    recipients who chose it). The row is held while it is delivered (``claimed_until``): a
    second delivery of it meanwhile (a redelivered task, the sweep) does nothing. Raises
    ``DeliveryTransientError`` while attempts remain, so the task retries; a ``claimant``
    (the task's id, the same across its retries) keeps the hold over the wait, so only its
    retry goes on; the last failure marks the row FAILED.
    """
    row = Notification.objects.get(pk=notification_id)
    if row.status != Status.PENDING:
        return row
    now = timezone.now()
    if not _claim(row.pk, claimant, now):
        logger.info("Notification %s is being delivered by another worker", row.pk)
        return row
    recipients = _recipients(row)
    email_errors = _emails_send(row, recipients)
    emailed = Notification.objects.filter(pk=row.pk, emailed_at__isnull=False).exists()
    on_slack = [r for r in recipients if r.by_slack]
    webhook_url = settings.SLACK_WEBHOOK_URL
    if not webhook_url or (recipients and not on_slack):
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(
            status=Status.SENT if emailed else Status.SKIPPED,
            sent_at=now if emailed else None,
            last_error="; ".join(email_errors),
            claimed_until=None,
        )
        row.refresh_from_db()
        return row
    if _throttled(row, now) is not None:
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(
            status=Status.HELD, claimed_until=None
        )
        logger.info("Notification %s held back by the throttle", row.pk)
        row.refresh_from_db()
        return row
    language = on_slack[0].language if on_slack else notification_language()
    rendered = notification_render(notification=row, language=language)
    mentions = " ".join(f"<@{r.slack_user_id}>" for r in on_slack if r.slack_user_id)
    held = _held_recently(now)
    minutes = settings.NOTIFY_RATE_WINDOW_S // 60
    with language_active(language):
        held_line = (
            ngettext(
                "%(n)s other alert was held back by the throttle in the last %(minutes)s min.",
                "%(n)s other alerts were held back by the throttle in the last %(minutes)s min.",
                held,
            )
            % {"n": held, "minutes": minutes}
            if held
            else ""
        )
    payload = slack_blocks(
        severity=row.severity,
        title=rendered.title,
        text=rendered.text,
        facts=rendered.facts,
        actions=rendered.actions,
        created_at=row.created_at,
        language=language,
        mentions=mentions,
        note=held_line,
    )
    attempts = row.attempts + 1
    try:
        slack_post(webhook_url=webhook_url, payload=payload, timeout_s=settings.NOTIFY_TIMEOUT_S)
    except DeliveryTransientError as exc:
        final = attempts >= settings.NOTIFY_MAX_ATTEMPTS
        # The claimant's retry keeps the row over its wait (the longest backoff, then a hold);
        # an anonymous caller lets it go.
        held_until = now + timedelta(seconds=300 + settings.NOTIFY_CLAIM_S)
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(
            attempts=attempts,
            last_error=str(exc),
            status=Status.FAILED if final else Status.PENDING,
            claimed_until=held_until if claimant and not final else None,
        )
        logger.warning("Notification %s attempt %s failed: %s", row.pk, attempts, exc)
        if not final:
            raise
    except DeliveryPermanentError as exc:
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(
            attempts=attempts, last_error=str(exc), status=Status.FAILED, claimed_until=None
        )
        logger.error("Notification %s refused by Slack: %s", row.pk, exc)
    else:
        Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(
            attempts=attempts,
            status=Status.SENT,
            sent_at=timezone.now(),
            last_error="; ".join(email_errors),
            claimed_until=None,
        )
    row.refresh_from_db()
    return row


def notification_redeliver(*, now: datetime | None = None, limit: int = 50) -> int:
    """Queue again the notifications whose delivery task was lost: still pending
    ``NOTIFY_REDELIVER_AFTER_S`` after they were raised, held by no delivery, and less than a
    day old. The claim makes a duplicate harmless. Returns how many were queued."""
    now = now or timezone.now()
    lost = (
        Notification.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            status=Status.PENDING,
            created_at__lt=now - timedelta(seconds=settings.NOTIFY_REDELIVER_AFTER_S),
            created_at__gte=now - timedelta(days=1),
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(lost)
    for pk in ids:
        logger.warning("Notification %s was never delivered: queued again", pk)
        _enqueue(pk)
    return len(ids)


# --- people's settings -----------------------------------------------------------------------
def notify_profile_set(
    *, user: Any, slack_user_id: str, channels: str, language: str, email: str
) -> NotifyProfile:
    """Write one user's notification settings (their Slack member id, how they want to be told,
    their language) and the e-mail address their mail goes to, in one transaction. The values
    are validated by the caller's form (the model's own validators)."""
    with transaction.atomic():
        profile, _created = NotifyProfile.objects.update_or_create(
            user=user,
            defaults={"slack_user_id": slack_user_id, "channels": channels, "language": language},
        )
        if user.email != email:
            user.email = email
            user.save(update_fields=["email"])
    logger.info("Notification settings of user %s: %s, %s", user.pk, channels, language)
    return profile
