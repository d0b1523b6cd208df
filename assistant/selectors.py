"""What the assistants read, gathered from the apps' own selectors (no query of their own
beyond narrowing those): the dashboard of the Slack command and the MCP status tools."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from broadcastops.i18n import language_supported
from broadcastops.inventory.selectors import StatusReport, status_get
from broadcastops.notify.selectors import notify_profile_get
from errorlogs.models import Incident
from errorlogs.selectors import incident_list
from scheduling.models import Schedule
from scheduling.selectors import schedule_list


@dataclass(frozen=True)
class Dashboard:
    status: StatusReport
    schedules_today: list[Schedule]
    incidents_open: list[Incident]


def local_day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The operators' day (``TIME_ZONE``) that holds ``now``: its start and its end."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def schedules_today(*, now: datetime | None = None) -> list[Schedule]:
    """Today's schedules (the operators' day) that have not ended yet, soonest first."""
    now = now or timezone.now()
    _start, end = local_day_bounds(now)
    return list(schedule_list(days=1, now=now).filter(starts_at__lt=end))


def dashboard_get(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    return Dashboard(
        status=status_get(now=now),
        schedules_today=schedules_today(now=now),
        incidents_open=incident_list(limit=10),
    )


def user_language(user: Any) -> str:
    """The language a console user reads the assistants in: their notification settings'
    language, else ``NOTIFY_LANGUAGE``."""
    if user is not None and getattr(user, "pk", None):
        profile = notify_profile_get(user=user)
        if profile.pk:
            chosen = language_supported(profile.language)
            if chosen:
                return chosen
    return language_supported(settings.NOTIFY_LANGUAGE) or "en"
