"""iCalendar feeds of the schedules behind a per-user secret URL: one of the user's own
assignments, one per channel.

The URL carries the user's id and an HMAC of (user, key version) under ``SECRET_KEY``:
checking it costs one indexed read and one HMAC, and a calendar app needs no login. A new
key version (``calendar_key_rotate``) revokes every URL given before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from broadcastops.errors import NotFound
from broadcastops.inventory.models import LiveChannel
from scheduling.models import CalendarKey, Schedule

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SALT = "scheduling.calendar"
PAST_DAYS = 30
AHEAD_DAYS = 180


def _token(user_id: int, version: int) -> str:
    return salted_hmac(SALT, f"{user_id}:{version}", algorithm="sha256").hexdigest()[:40]


def calendar_token(*, user: User) -> str:
    """The user's current secret (their key is created on first use)."""
    key, _created = CalendarKey.objects.get_or_create(user=user)
    return _token(user.pk, key.version)


def calendar_key_rotate(*, user: User) -> str:
    """A new secret for the user: every URL given before stops working. Returns it."""
    key, created = CalendarKey.objects.get_or_create(user=user)
    if not created:
        CalendarKey.objects.filter(pk=key.pk).update(version=F("version") + 1)
        key.refresh_from_db()
    return _token(user.pk, key.version)


def calendar_user(*, user_id: int, token: str) -> User:
    """The active user whose secret this is; ``NotFound`` otherwise (the same answer for a
    wrong user, a wrong token and a revoked one)."""
    row = (
        CalendarKey.objects.filter(user_id=user_id, user__is_active=True)
        .select_related("user")
        .first()
    )
    if row is None or not constant_time_compare(_token(user_id, row.version), token):
        raise NotFound(_("No such calendar."))
    return row.user


def _window(now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=PAST_DAYS), now + timedelta(days=AHEAD_DAYS)


def _ics(name: str, schedules: QuerySet[Schedule], now: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//BroadcastOps//schedules//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for s in schedules:
        event = Event()
        event.add("uid", f"schedule-{s.pk}@broadcastops")
        event.add("dtstamp", now)
        event.add("dtstart", s.starts_at)
        event.add("dtend", s.ends_at)
        event.add("summary", f"{s.title} ({s.channel.name})")
        event.add("location", s.channel.name)
        if s.notes:
            event.add("description", s.notes)
        event.add("status", "CANCELLED" if s.status == Schedule.Status.CANCELLED else "CONFIRMED")
        event.add("last-modified", s.updated_at)
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


def calendar_operator_ics(*, user: User, now: datetime | None = None) -> bytes:
    """The user's own assignments from 30 days ago to 180 days ahead."""
    now = now or timezone.now()
    since, until = _window(now)
    schedules = (
        Schedule.objects.filter(assignee=user, ends_at__gte=since, starts_at__lt=until)
        .select_related("channel")
        .order_by("starts_at")
    )
    return _ics(f"BroadcastOps: {user.get_username()}", schedules, now)


def calendar_channel_ics(*, key: str, now: datetime | None = None) -> bytes:
    """One channel's schedules (by cloud id), from 30 days ago to 180 days ahead."""
    now = now or timezone.now()
    channel = LiveChannel.objects.filter(cloud_id=key, removed_at__isnull=True).first()
    if channel is None:
        raise NotFound(_("No such channel."))
    since, until = _window(now)
    schedules = (
        Schedule.objects.filter(channel=channel, ends_at__gte=since, starts_at__lt=until)
        .select_related("channel")
        .order_by("starts_at")
    )
    return _ics(f"BroadcastOps: {channel.name}", schedules, now)


def calendar_links(*, user: User) -> dict[str, object]:
    """The user's feed paths: their own and one per channel."""
    token = calendar_token(user=user)
    base = f"/calendars/{user.pk}/{token}"
    channels = LiveChannel.objects.filter(removed_at__isnull=True).order_by("name")
    return {
        "operator": f"{base}/mine.ics",
        "channels": [(c.name, f"{base}/channel/{c.cloud_id}.ics") for c in channels],
    }
