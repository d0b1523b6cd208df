"""KPIs over a period, per channel and overall, from the inventory's status history, the
schedules, the failover events and the audit trail (selectors).

- availability: time on air (RUNNING, health not red) inside the channel's scheduled windows
  / scheduled time;
- failover rate: failovers to BACKUP / broadcasts (schedules starting in the period);
- MTTR: the mean time to recover of the incidents (RED spans) that recovered in the period;
- automation rate: starts and stops taken by a schedule / all starts and stops of the channel;
- MAIN-input stability: time RUNNING on the MAIN input / time RUNNING.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from broadcastops.actions.models import OperatorAction, Origin
from broadcastops.inventory.models import (
    ChannelStatus,
    FailoverEvent,
    Health,
    InputRole,
    LiveChannel,
)
from scheduling.models import Schedule

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_KPI_DAYS = 400
AUTOMATIC = ("channel.scheduled_start", "channel.stop")
BY_HAND = ("channel.start", "channel.stop")


@dataclass(frozen=True)
class Kpi:
    channel: str  # "" for the overall row
    scheduled_s: int
    on_air_in_schedule_s: int
    availability: float | None
    broadcasts: int
    failovers: int
    failover_rate: float | None
    incidents: int
    mttr_s: int | None
    automatic: int
    starts_stops: int
    automation_rate: float | None
    running_s: int
    main_s: int
    main_stability: float | None


@dataclass(frozen=True)
class KpiReport:
    starts: datetime
    ends: datetime
    overall: Kpi
    channels: list[Kpi]


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _kpi(channel: str, acc: dict[str, float], recovered: tuple[int, int]) -> Kpi:
    incidents, down_s = recovered
    return Kpi(
        channel=channel,
        scheduled_s=int(acc["scheduled"]),
        on_air_in_schedule_s=int(acc["in_schedule"]),
        availability=_ratio(acc["in_schedule"], acc["scheduled"]),
        broadcasts=int(acc["broadcasts"]),
        failovers=int(acc["failovers"]),
        failover_rate=_ratio(acc["failovers"], acc["broadcasts"]),
        incidents=incidents,
        mttr_s=down_s // incidents if incidents else None,
        automatic=int(acc["automatic"]),
        starts_stops=int(acc["starts_stops"]),
        automation_rate=_ratio(acc["automatic"], acc["starts_stops"]),
        running_s=int(acc["running"]),
        main_s=int(acc["main"]),
        main_stability=_ratio(acc["main"], acc["running"]),
    )


def _epoch_us(vendor: str, column: str) -> str:
    """SQL for a datetime column as exact integer microseconds since 1970 (UTC)."""
    if vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"
    if vendor == "sqlite":
        # Django stores "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC (no fraction when it is zero).
        return (
            f"(CAST(strftime('%%s', {column}) AS INTEGER) * 1000000"
            f" + CASE WHEN length({column}) > 19 THEN CAST(substr({column}, 21, 6) AS INTEGER)"
            " ELSE 0 END)"
        )
    raise NotImplementedError(f"KPIs in SQL: no epoch expression for {vendor}")


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


# Each channel's status rows over [starts, ends), led by the row in force at ``starts`` (the
# last one before it): the rows of ``reports.status_rows``, by channel and (at, id), each
# as its time in microseconds and one small code (1: RUNNING, 2: on MAIN, 4: RED), so that
# no datetime and no string is made in Python for the ~60,000 rows of a year.
# Only the table names and the column expressions of _sql() are formatted in (no input).
_STATUS_SQL = """
SELECT channel_id, {at_us} AS at_us, {code}, id FROM {status}
WHERE at >= %(starts)s AND at < %(ends)s
UNION ALL
SELECT channel_id, {at_us} AS at_us, {code}, id FROM {status} WHERE id IN (
    SELECT (
        SELECT s.id FROM {status} s WHERE s.channel_id = c.id AND s.at < %(starts)s
        ORDER BY s.at DESC, s.id DESC LIMIT 1
    ) FROM {channel} c
)
ORDER BY 1, 2, 4
"""
_CODE = """(CASE WHEN state = %(running)s THEN 1 ELSE 0 END
    + CASE WHEN active_input = %(main)s THEN 2 ELSE 0 END
    + CASE WHEN health = %(red)s THEN 4 ELSE 0 END)"""
RUNNING, MAIN, RED = 1, 2, 4

# The scheduled windows that overlap the period, in microseconds, by channel and start.
_WINDOWS_SQL = """
SELECT channel_id, {starts_at_us}, {ends_at_us} FROM {schedule}
WHERE starts_at < %(ends)s AND ends_at > %(starts)s AND status <> %(cancelled)s
ORDER BY channel_id, starts_at
"""


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans -> their union, sorted and disjoint (touching spans join)."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    """Time in both sorted, disjoint span lists (two pointers)."""
    i = j = total = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        (s1, e1), (s2, e2) = a[i], b[j]
        lo = s1 if s1 > s2 else s2  # plain comparisons: ~60,000 spans a year
        hi = e1 if e1 < e2 else e2
        if hi > lo:
            total += hi - lo
        if e1 < e2:
            i += 1
        else:
            j += 1
    return total


@dataclass
class _Times:
    """One channel's times in microseconds, and its recovered incidents' seconds."""

    scheduled: int = 0
    in_schedule: int = 0
    running: int = 0
    main: int = 0
    recovered: list[int] = field(default_factory=list)
    counted: bool = False  # had a scheduled window or time RUNNING (a row in the KPIs)


def _times(
    rows: list[tuple[int, int, int, int]],
    windows: list[tuple[int, int, int]],
    *,
    starts_us: int,
    ends_us: int,
) -> dict[int, _Times]:
    """The spans of the status rows and the windows: each row is in force until the next
    (the last until the period's end, the lead row from the period's start); an incident
    goes down at the first RED row and recovers at the next row that is not RED (as
    ``reports.incidents_get``), and counts if it recovered in the period."""
    out: dict[int, _Times] = defaultdict(_Times)
    by_channel: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for channel_id, s, e in windows:
        by_channel[channel_id].append((max(s, starts_us), min(e, ends_us)))
    merged = {c: _merged(w) for c, w in by_channel.items()}
    for c, w in merged.items():
        out[c].scheduled = sum(e - s for s, e in w)
        out[c].counted = True
    on_air: dict[int, list[tuple[int, int]]] = defaultdict(list)
    down: dict[int, int] = {}
    after = [*rows[1:], (0, ends_us, 0, 0)]  # each row's next (none: as long as rows)
    for (c, at, code, _id), following in zip(rows, after[: len(rows)], strict=True):
        until = following[1] if following[0] == c else ends_us
        if code & RED:
            down.setdefault(c, at)
        elif c in down:
            since = down.pop(c)
            if at >= starts_us:
                out[c].recovered.append((at - since) // 1_000_000)
        if at < starts_us:
            at = starts_us
        if not code & RUNNING or until <= at:
            continue
        times = out[c]
        times.counted = True
        times.running += until - at
        if code & MAIN:
            times.main += until - at
        if not code & RED:
            spans = on_air[c]
            if spans and spans[-1][1] == at:  # one span while on air, across row changes
                spans[-1] = (spans[-1][0], until)
            else:
                spans.append((at, until))
    for c, spans in on_air.items():
        out[c].in_schedule = _overlap(spans, merged.get(c, []))
    return out


def _sql(template: str) -> str:
    vendor = connection.vendor
    return template.format(
        at_us=_epoch_us(vendor, "at"),
        code=_CODE,
        starts_at_us=_epoch_us(vendor, "starts_at"),
        ends_at_us=_epoch_us(vendor, "ends_at"),
        status=connection.ops.quote_name(ChannelStatus._meta.db_table),
        channel=connection.ops.quote_name(LiveChannel._meta.db_table),
        schedule=connection.ops.quote_name(Schedule._meta.db_table),
    )


def kpis_get(*, starts: datetime, ends: datetime) -> KpiReport:
    """The KPIs of [starts, ends): a fixed number of queries whatever the period's length.
    The database gives each status row and window as integer microseconds (exact), so the
    spans are summed over plain integers, with no datetime made per row."""
    channels = dict(LiveChannel.objects.values_list("pk", "name"))
    cloud_ids = dict(LiveChannel.objects.values_list("cloud_id", "pk"))
    acc: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    adapt = connection.ops.adapt_datetimefield_value
    starts_us, ends_us = _us(starts), _us(ends)
    params = {
        "starts": adapt(starts),
        "ends": adapt(ends),
        "running": LiveChannel.State.RUNNING.value,
        "red": Health.RED.value,
        "main": InputRole.MAIN.value,
        "cancelled": Schedule.Status.CANCELLED.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_sql(_STATUS_SQL), params)
        rows = cursor.fetchall()
        cursor.execute(_sql(_WINDOWS_SQL), params)
        windows = cursor.fetchall()
    recovered: dict[int, tuple[int, int]] = {}
    for channel_id, times in _times(rows, windows, starts_us=starts_us, ends_us=ends_us).items():
        if times.recovered:
            recovered[channel_id] = (len(times.recovered), sum(times.recovered))
        if not times.counted:
            continue  # a channel idle all period, with no schedule: no row
        values = acc[channel_id]
        values["scheduled"] = times.scheduled / 1_000_000
        values["in_schedule"] = times.in_schedule / 1_000_000
        values["running"] = times.running / 1_000_000
        values["main"] = times.main / 1_000_000
    for row in (
        Schedule.objects.filter(starts_at__gte=starts, starts_at__lt=ends)
        .exclude(status=Schedule.Status.CANCELLED)
        .values("channel_id")
        .annotate(n=Count("pk"))
    ):
        acc[row["channel_id"]]["broadcasts"] = row["n"]
    for row in (
        FailoverEvent.objects.filter(
            occurred_at__gte=starts, occurred_at__lt=ends, kind=FailoverEvent.Kind.FAILOVER
        )
        .values("channel_id")
        .annotate(n=Count("pk"))
    ):
        acc[row["channel_id"]]["failovers"] = row["n"]
    for action in (
        OperatorAction.objects.filter(
            Q(origin=Origin.SCHEDULE, action__in=AUTOMATIC)
            | (Q(action__in=BY_HAND) & ~Q(origin=Origin.SCHEDULE)),
            target_type="channel",
            created_at__gte=starts,
            created_at__lt=ends,
        )
        .values("target_id", "origin")
        .annotate(n=Count("pk"))
    ):
        pk = cloud_ids.get(action["target_id"])
        if pk is None:
            continue
        acc[pk]["starts_stops"] += action["n"]
        if action["origin"] == Origin.SCHEDULE:
            acc[pk]["automatic"] += action["n"]
    total: dict[str, float] = defaultdict(float)
    for values in acc.values():
        for key, value in values.items():
            total[key] += value
    every = (sum(n for n, _s in recovered.values()), sum(s for _n, s in recovered.values()))
    per_channel = [
        _kpi(channels[c], acc[c], recovered.get(c, (0, 0)))
        for c in sorted(set(acc) | set(recovered), key=lambda c: channels.get(c, ""))
        if c in channels
    ]
    return KpiReport(starts=starts, ends=ends, overall=_kpi("", total, every), channels=per_channel)


def kpis_json(report: KpiReport) -> dict[str, Any]:
    """The KPIs as JSON: the period's bounds in the operators' time zone."""
    return {
        "from": timezone.localtime(report.starts).isoformat(),
        "to": timezone.localtime(report.ends).isoformat(),
        "overall": asdict(report.overall),
        "channels": [asdict(k) for k in report.channels],
    }
