"""Reads of the schedules: lists, the upcoming ones, one with its steps, the guard's query,
the show on air on a player's stream."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from broadcastops.errors import NotFound, ValidationFailed
from broadcastops.on_air import OnAir
from scheduling.models import ACTIVE_STATUSES, Schedule, ScheduleStep

MAX_DAYS = 366


def _base() -> QuerySet[Schedule]:
    return Schedule.objects.select_related("channel", "assignee").prefetch_related(
        Prefetch("steps", queryset=ScheduleStep.objects.order_by("due_at"))
    )


def schedule_list(
    *,
    days: int = 7,
    channel: str = "",
    assignee: str = "",
    status: str = "",
    now: datetime | None = None,
) -> QuerySet[Schedule]:
    """Schedules that end from now on and start within ``days`` (and any on air)."""
    now = now or timezone.now()
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(
            _("days must be between 1 and %(max)s.") % {"max": MAX_DAYS}, detail={"field": "days"}
        )
    if status and status not in Schedule.Status.values:
        raise ValidationFailed(
            _("Unknown status “%(status)s”.") % {"status": status},
            detail={"field": "status", "statuses": Schedule.Status.values},
        )
    schedules = _base().filter(ends_at__gte=now, starts_at__lt=now + timedelta(days=days))
    if channel:
        schedules = schedules.filter(Q(channel__cloud_id=channel) | Q(channel__name=channel))
    if assignee:
        schedules = schedules.filter(assignee__username=assignee)
    if status:
        schedules = schedules.filter(status=status)
    return schedules.order_by("starts_at", "pk")


def schedule_upcoming(*, limit: int = 10, now: datetime | None = None) -> list[Schedule]:
    """What airs now and next: active schedules that have not ended, soonest first."""
    now = now or timezone.now()
    return list(
        _base()
        .filter(status__in=ACTIVE_STATUSES, ends_at__gt=now)
        .order_by("starts_at", "pk")[: max(1, min(limit, 100))]
    )


def schedule_get(*, pk: int) -> Schedule:
    schedule = _base().filter(pk=pk).first()
    if schedule is None:
        raise NotFound(_("No schedule with id %(id)s.") % {"id": pk})
    return schedule


def schedule_week(*, start: datetime, channel_ids: list[int] | None = None) -> list[Schedule]:
    """The schedules of the seven days from ``start`` (cancelled ones left out)."""
    schedules = (
        Schedule.objects.select_related("channel", "assignee")
        .filter(starts_at__lt=start + timedelta(days=7), ends_at__gt=start)
        .exclude(status=Schedule.Status.CANCELLED)
    )
    if channel_ids:
        schedules = schedules.filter(channel_id__in=channel_ids)
    return list(schedules.order_by("channel__name", "starts_at"))


def on_air_for_stream(*, stream_id: str, host: str, at: datetime) -> OnAir | None:
    """``registry.ON_AIR_LOOKUP``: the schedule on air at ``at`` on the channel a player's
    stream carries (``PlayerStream``: the path on ``host``, else the path on any server).
    One query, through the mapping's unique (path, host) index and the schedules' (channel,
    start) index; a cancelled or missed schedule was not on air."""
    path = stream_id.strip("/")
    if not path:
        return None
    schedule = (
        Schedule.objects.filter(
            channel__player_streams__stream_path=path,
            channel__player_streams__host__in={host.lower(), ""},
            starts_at__lte=at,
            ends_at__gt=at,
        )
        .exclude(status__in=(Schedule.Status.CANCELLED, Schedule.Status.MISSED))
        .select_related("channel")
        .order_by("-channel__player_streams__host", "-starts_at")  # the server's own first
        .first()
    )
    if schedule is None:
        return None
    return OnAir(
        title=schedule.title,
        schedule_id=str(schedule.pk),
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        channel=schedule.channel.name,
        url=reverse("admin:scheduling_schedule_change", args=[schedule.pk]),
    )
