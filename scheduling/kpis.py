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
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from broadcastops.actions.models import OperatorAction, Origin
from broadcastops.inventory.models import FailoverEvent, Health, LiveChannel
from scheduling.models import Schedule
from scheduling.reports import incidents_get, status_rows

Span = tuple[datetime, datetime]
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


def _merged(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _overlap_s(a: list[Span], b: list[Span]) -> float:
    """Seconds in both sorted, disjoint span lists (two pointers)."""
    i = j = 0
    total = 0.0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            total += (hi - lo).total_seconds()
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _kpi(channel: str, acc: dict[str, float], recovered: list[int]) -> Kpi:
    return Kpi(
        channel=channel,
        scheduled_s=int(acc["scheduled"]),
        on_air_in_schedule_s=int(acc["in_schedule"]),
        availability=_ratio(acc["in_schedule"], acc["scheduled"]),
        broadcasts=int(acc["broadcasts"]),
        failovers=int(acc["failovers"]),
        failover_rate=_ratio(acc["failovers"], acc["broadcasts"]),
        incidents=len(recovered),
        mttr_s=sum(recovered) // len(recovered) if recovered else None,
        automatic=int(acc["automatic"]),
        starts_stops=int(acc["starts_stops"]),
        automation_rate=_ratio(acc["automatic"], acc["starts_stops"]),
        running_s=int(acc["running"]),
        main_s=int(acc["main"]),
        main_stability=_ratio(acc["main"], acc["running"]),
    )


def kpis_get(*, starts: datetime, ends: datetime) -> KpiReport:
    """The KPIs of [starts, ends): a fixed number of queries whatever the period's length."""
    channels = dict(LiveChannel.objects.values_list("pk", "name"))
    cloud_ids = dict(LiveChannel.objects.values_list("cloud_id", "pk"))
    acc: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    windows: dict[int, list[Span]] = defaultdict(list)
    for channel_id, s, e in (
        Schedule.objects.filter(starts_at__lt=ends, ends_at__gt=starts)
        .exclude(status=Schedule.Status.CANCELLED)
        .values_list("channel_id", "starts_at", "ends_at")
    ):
        windows[channel_id].append((max(s, starts), min(e, ends)))
        if s >= starts:
            acc[channel_id]["broadcasts"] += 1
    merged = {c: _merged(w) for c, w in windows.items()}
    for c, w in merged.items():
        acc[c]["scheduled"] = sum((e - s).total_seconds() for s, e in w)
    on_air: dict[int, list[Span]] = defaultdict(list)
    rows = status_rows(starts=starts, ends=ends)
    for n, (c, at, state, active, health) in enumerate(rows):
        following = rows[n + 1] if n + 1 < len(rows) else None
        until = following[1] if following and following[0] == c else ends
        at = max(at, starts)
        if state != LiveChannel.State.RUNNING or until <= at:
            continue
        if health != Health.RED:
            on_air[c].append((at, until))
        seconds = (until - at).total_seconds()
        acc[c]["running"] += seconds
        if active == "MAIN":
            acc[c]["main"] += seconds
    for c, spans in on_air.items():
        acc[c]["in_schedule"] = _overlap_s(spans, merged.get(c, []))
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
    recovered: dict[int, list[int]] = defaultdict(list)
    names_back = {name: pk for pk, name in channels.items()}
    for incident in incidents_get(starts=starts, ends=ends, names=channels, rows=rows):
        if incident.recovered_at is not None and incident.recovered_at >= starts:
            recovered[names_back[incident.channel]].append(incident.down_s)
    total: dict[str, float] = defaultdict(float)
    for values in acc.values():
        for key, value in values.items():
            total[key] += value
    every = [d for c in recovered.values() for d in c]
    per_channel = [
        _kpi(channels[c], acc[c], recovered.get(c, []))
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
