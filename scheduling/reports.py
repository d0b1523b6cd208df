"""Reads for the daily report: the day's broadcasts, failovers and incidents (selectors).

A day is a local day of the operators' time zone (``TIME_ZONE``, default Asia/Seoul). An
incident is a span in the inventory's status history where a channel was off air while it
should have been on (its health RED): it went down at the first RED row and recovered at the
next row that is not RED; one still down at the end of the day (or now) is reported open.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from broadcastops.inventory.models import ChannelStatus, FailoverEvent, Health, LiveChannel
from scheduling.models import Schedule

FORMATS = ("text", "markdown", "json")


@dataclass(frozen=True)
class Broadcast:
    schedule_id: int
    title: str
    channel: str
    status: str
    starts_at: datetime
    ends_at: datetime
    on_air_at: datetime | None
    off_air_at: datetime | None
    on_air_s: int


@dataclass(frozen=True)
class Failover:
    channel: str
    at: datetime
    pipeline: int
    kind: str


@dataclass(frozen=True)
class Incident:
    channel: str
    down_at: datetime
    recovered_at: datetime | None  # None: still down at the report's end
    down_s: int  # time to recover (or down so far)


@dataclass(frozen=True)
class DailyReport:
    day: date
    starts: datetime
    ends: datetime
    broadcasts: list[Broadcast]
    completed: int
    interrupted: int
    missed: int
    failovers: list[Failover]
    incidents: list[Incident]
    total_on_air_s: int
    average_on_air_s: int


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A local day as UTC instants [start, end)."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
    return start, end


def status_rows(
    *, starts: datetime, ends: datetime, channel_ids: list[int] | None = None
) -> list[tuple[int, datetime, str, str, str]]:
    """Each channel's status rows over [starts, ends), led by the row in force at ``starts``
    (its own time, before ``starts``): ``(channel_id, at, state, active_input, health)``, by
    channel and time. Two queries whatever the period."""
    scope = Q() if channel_ids is None else Q(channel_id__in=channel_ids)
    before = (
        ChannelStatus.objects.filter(scope, at__lt=starts)
        .values("channel_id")
        .annotate(last=Max("at"))
    )
    lead = Q()
    for row in before:
        lead |= Q(channel_id=row["channel_id"], at=row["last"])
    fields = ("channel_id", "at", "state", "active_input", "health")
    within = Q(scope, at__gte=starts, at__lt=ends)
    rows = ChannelStatus.objects.filter(within | lead if lead else within)
    return list(rows.order_by("channel_id", "at", "pk").values_list(*fields))


def incidents_get(
    *,
    starts: datetime,
    ends: datetime,
    names: dict[int, str],
    rows: list[tuple[int, datetime, str, str, str]] | None = None,
) -> list[Incident]:
    """The incidents (RED spans) that began before ``ends`` and were open at or after ``starts``.
    ``rows``: ``status_rows`` of the same period when the caller has read them already."""
    incidents = []
    down: dict[int, datetime] = {}
    if rows is None:
        rows = status_rows(starts=starts, ends=ends)
    for channel_id, at, _state, _active, health in rows:
        if health == Health.RED:
            down.setdefault(channel_id, at)
        elif channel_id in down:
            since = down.pop(channel_id)
            incidents.append(
                Incident(names.get(channel_id, "?"), since, at, int((at - since).total_seconds()))
            )
    until = min(ends, timezone.now())
    for channel_id, since in down.items():
        incidents.append(
            Incident(names.get(channel_id, "?"), since, None, int((until - since).total_seconds()))
        )
    return sorted(incidents, key=lambda i: i.down_at)


def daily_report_get(*, day: date, now: datetime | None = None) -> DailyReport:
    """The report of one local day: a fixed number of queries."""
    now = now or timezone.now()
    starts, ends = day_bounds(day)
    schedules = (
        Schedule.objects.filter(starts_at__gte=starts, starts_at__lt=ends)
        .exclude(status=Schedule.Status.CANCELLED)
        .select_related("channel")
        .order_by("starts_at", "pk")
    )
    broadcasts = []
    for s in schedules:
        on_air_s = 0
        if s.on_air_at is not None:
            off = s.off_air_at or min(now, s.ends_at)
            on_air_s = max(0, int((off - s.on_air_at).total_seconds()))
        broadcasts.append(
            Broadcast(
                s.pk,
                s.title,
                s.channel.name,
                s.status,
                s.starts_at,
                s.ends_at,
                s.on_air_at,
                s.off_air_at,
                on_air_s,
            )
        )
    failovers = [
        Failover(e.channel.name, e.occurred_at, e.pipeline, e.kind)
        for e in FailoverEvent.objects.filter(
            occurred_at__gte=starts, occurred_at__lt=ends, kind=FailoverEvent.Kind.FAILOVER
        )
        .select_related("channel")
        .order_by("occurred_at")
    ]
    names = dict(LiveChannel.objects.values_list("pk", "name"))
    aired = [b.on_air_s for b in broadcasts if b.on_air_at is not None]
    statuses = [b.status for b in broadcasts]
    return DailyReport(
        day=day,
        starts=starts,
        ends=ends,
        broadcasts=broadcasts,
        completed=statuses.count(Schedule.Status.COMPLETED),
        interrupted=statuses.count(Schedule.Status.INTERRUPTED),
        missed=statuses.count(Schedule.Status.MISSED),
        failovers=failovers,
        incidents=incidents_get(starts=starts, ends=ends, names=names),
        total_on_air_s=sum(aired),
        average_on_air_s=sum(aired) // len(aired) if aired else 0,
    )


# --- rendering ------------------------------------------------------------------------------
def duration_text(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)s h %(m)02d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)s min %(s)02d s") % {"m": minutes, "s": secs}
    return _("%(s)s s") % {"s": secs}


def _hm(moment: datetime | None, day: date) -> str:
    """A local time of the report's day; with its date when it is another day."""
    if moment is None:
        return "-"
    local = timezone.localtime(moment)
    return local.strftime("%H:%M:%S" if local.date() == day else "%Y-%m-%d %H:%M:%S")


def _status_label(status: str) -> str:
    return str(Schedule.Status(status).label)


def report_lines(report: DailyReport) -> dict[str, Any]:
    """The report's sentences in the active language, for the text, Markdown and HTML forms."""
    summary = [
        (_("Broadcasts"), str(len(report.broadcasts))),
        (_("Completed normally"), str(report.completed)),
        (_("Interrupted"), str(report.interrupted)),
        (_("Missed"), str(report.missed)),
        (_("Failovers"), str(len(report.failovers))),
        (_("Incidents"), str(len(report.incidents))),
        (_("Total broadcast time"), duration_text(report.total_on_air_s)),
        (_("Average broadcast time"), duration_text(report.average_on_air_s)),
    ]
    broadcasts = [
        _("%(start)s-%(end)s %(title)s (%(channel)s): %(status)s, on air %(duration)s")
        % {
            "start": timezone.localtime(b.starts_at).strftime("%H:%M"),
            "end": timezone.localtime(b.ends_at).strftime("%H:%M"),
            "title": b.title,
            "channel": b.channel,
            "status": _status_label(b.status),
            "duration": duration_text(b.on_air_s),
        }
        for b in report.broadcasts
    ]
    failovers = [
        _("%(time)s %(channel)s: pipeline %(pipeline)s switched to BACKUP")
        % {"time": _hm(f.at, report.day), "channel": f.channel, "pipeline": f.pipeline}
        for f in report.failovers
    ]
    incidents = [
        (
            _("%(channel)s down at %(down)s, recovered at %(up)s: %(duration)s to recover")
            if i.recovered_at
            else _("%(channel)s down at %(down)s, not recovered: down %(duration)s so far")
        )
        % {
            "channel": i.channel,
            "down": _hm(i.down_at, report.day),
            "up": _hm(i.recovered_at, report.day),
            "duration": duration_text(i.down_s),
        }
        for i in report.incidents
    ]
    return {
        "title": _("Daily report %(day)s") % {"day": report.day.isoformat()},
        "summary": summary,
        "sections": [
            (_("Broadcasts"), broadcasts),
            (_("Failovers"), failovers),
            (_("Incidents"), incidents),
        ],
        "none": _("None"),
    }


def daily_report_json(report: DailyReport) -> dict[str, Any]:
    """The report as JSON: times in the operators' time zone, ISO 8601 with their offset."""

    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return timezone.localtime(v).isoformat()
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, list):
            return [value(i) for i in v]
        if isinstance(v, dict):
            return {k: value(i) for k, i in v.items()}
        return v

    return value(asdict(report))  # type: ignore[no-any-return]


def daily_report_render(*, report: DailyReport, fmt: str) -> str:
    """The report as ``text``, ``markdown`` or ``json``, in the active language."""
    if fmt == "json":
        return json.dumps(daily_report_json(report), ensure_ascii=False, indent=2)
    lines = report_lines(report)
    markdown = fmt == "markdown"
    out = [f"# {lines['title']}" if markdown else lines["title"], ""]
    for label, value in lines["summary"]:
        out.append(f"- **{label}**: {value}" if markdown else f"{label}: {value}")
    for heading, items in lines["sections"]:
        out += ["", f"## {heading}" if markdown else f"[{heading}]"]
        out += [f"- {item}" for item in items] or [f"- {lines['none']}"]
    return "\n".join(out) + "\n"
