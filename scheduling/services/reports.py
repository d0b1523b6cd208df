"""Posting the daily report to Slack (the beat, at ``SCHEDULING_REPORT_AT``)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from broadcastops.i18n import language_active
from broadcastops.notify.models import Notification
from broadcastops.notify.services import notification_language, notify
from scheduling import messages as m
from scheduling.reports import daily_report_get, daily_report_render


def daily_report_post(*, day: date | None = None) -> Notification | None:
    """Post one day's report (default: yesterday, local) to Slack, once per day: a second
    beat or a redelivered task finds it already recorded and is counted, not sent."""
    day = day or timezone.localdate() - timedelta(days=1)
    report = daily_report_get(day=day)
    with language_active(notification_language()):
        body = daily_report_render(report=report, fmt="markdown")
    return notify(
        event="schedule.daily_report",
        subject=f"daily-report:{day.isoformat()}",
        severity="info",
        title=m.DAILY_REPORT_TITLE(day=day.isoformat()),
        text=body.split("\n", 2)[2].strip(),  # the title is the header already
        dedup_key=f"schedule.daily_report:{day.isoformat()}",
        dedup_window_s=14 * 24 * 3600,
        once=True,
    )
