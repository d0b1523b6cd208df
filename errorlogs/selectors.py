"""Reads of player error reports: the latest reports, the statistics, groups and incidents."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMinute
from django.utils import timezone

from errorlogs.models import ErrorGroup, ErrorReport, ErrorType, Incident, ProbeResult

# Series drawn per chart: the most frequent, the rest summed as "other".
TOP_SERIES = 6
OTHER = "\x00other"  # never a stream id (validation refuses NUL)


def report_list(
    *, stream_id: str = "", error_type: str = "", since: datetime | None = None, limit: int = 50
) -> list[ErrorReport]:
    """The newest reports first, filtered; at most ``limit``."""
    reports = ErrorReport.objects.all()
    if stream_id:
        reports = reports.filter(stream_id=stream_id)
    if error_type:
        reports = reports.filter(error_type=error_type)
    if since is not None:
        reports = reports.filter(received_at__gte=since)
    return list(reports.order_by("-received_at", "-id")[:limit])


@dataclass(frozen=True)
class Series:
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class PerMinute:
    """Reports per time bucket, by one dimension, for a chart."""

    buckets: list[datetime]
    bucket_s: int
    series: list[Series] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max(
            (sum(col) for col in zip(*(s.counts for s in self.series), strict=True)), default=0
        )


def _bucketed(
    reports: QuerySet[ErrorReport],
    dimension: str,
    *,
    since: datetime,
    until: datetime,
    bucket_s: int,
) -> PerMinute:
    count = max(1, int((until - since).total_seconds() // bucket_s))
    buckets = [since + timedelta(seconds=i * bucket_s) for i in range(count)]
    rows = (
        reports.filter(received_at__gte=since, received_at__lt=until)
        .annotate(minute=TruncMinute("received_at", tzinfo=UTC))
        .values("minute", dimension)
        .annotate(n=Count("id"))
        .values_list("minute", dimension, "n")
    )
    totals: dict[str, int] = {}
    cells: dict[tuple[str, int], int] = {}
    for minute, value, n in rows:
        index = min(max(int((minute - since).total_seconds() // bucket_s), 0), count - 1)
        totals[value] = totals.get(value, 0) + n
        cells[value, index] = cells.get((value, index), 0) + n
    ranked = sorted(totals, key=lambda v: (-totals[v], v))
    shown, rest = ranked[:TOP_SERIES], ranked[TOP_SERIES:]
    series = [Series(v, [cells.get((v, i), 0) for i in range(count)]) for v in shown]
    if rest:
        other = [sum(cells.get((v, i), 0) for v in rest) for i in range(count)]
        series.append(Series(OTHER, other))
    return PerMinute(buckets=buckets, bucket_s=bucket_s, series=series)


@dataclass(frozen=True)
class Statistics:
    since: datetime
    until: datetime
    total: int
    by_type: PerMinute
    by_stream: PerMinute
    top_streams: list[tuple[str, int]]
    status_codes: list[tuple[int | None, int]]
    browsers: list[tuple[str, int]]
    groups: list[ErrorGroup]
    incidents: list[Incident]
    probes: list[ProbeResult]


def _top(reports: QuerySet[ErrorReport], field_name: str, limit: int = 10) -> list[tuple[Any, int]]:
    rows = reports.values(field_name).annotate(n=Count("id")).order_by("-n", field_name)[:limit]
    return [(row[field_name], row["n"]) for row in rows]


def statistics_get(*, hours: int = 1, now: datetime | None = None) -> Statistics:
    """Everything the statistics page shows for the last ``hours``."""
    until = (now or timezone.now()).replace(second=0, microsecond=0) + timedelta(minutes=1)
    since = until - timedelta(hours=hours)
    bucket_s = 60 if hours <= 3 else 300 if hours <= 12 else 900
    window = ErrorReport.objects.filter(received_at__gte=since, received_at__lt=until).order_by()
    players = window.exclude(error_type=ErrorType.PROBE_FAILED)
    latest_probes = []
    for name in (
        ProbeResult.objects.order_by().values_list("server_name", flat=True).distinct()[:20]
    ):
        probe = ProbeResult.objects.filter(server_name=name).order_by("-probed_at").first()
        if probe is not None:
            latest_probes.append(probe)
    return Statistics(
        since=since,
        until=until,
        total=window.count(),
        by_type=_bucketed(window, "error_type", since=since, until=until, bucket_s=bucket_s),
        by_stream=_bucketed(players, "stream_id", since=since, until=until, bucket_s=bucket_s),
        top_streams=_top(players, "stream_id"),
        status_codes=_top(window, "status_code"),
        browsers=_top(players, "browser_name"),
        groups=list(
            ErrorGroup.objects.filter(last_seen_at__gte=since).order_by("-last_seen_at")[:20]
        ),
        incidents=list(
            Incident.objects.filter(state=Incident.State.OPEN).order_by("-opened_at")[:20]
        )
        + list(
            Incident.objects.filter(state=Incident.State.RESOLVED, resolved_at__gte=since).order_by(
                "-resolved_at"
            )[:10]
        ),
        probes=latest_probes,
    )


def incident_list(*, state: str = Incident.State.OPEN, limit: int = 50) -> list[Incident]:
    """Incidents in ``state`` ("" for all), the newest first; at most ``limit``."""
    incidents = Incident.objects.all()
    if state:
        incidents = incidents.filter(state=state)
    return list(incidents.order_by("-opened_at", "-id")[: max(1, min(limit, 500))])
