"""Reads of the inventory: lists, the full status, the summary. Every interface uses these.

The full status (``status_get``) reads every row it needs in a fixed number of queries,
whatever the number of channels and flows, and derives the summary from the same rows as the
channel list, so the counts always match the rows (tests pin both).
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from broadcastops.errors import NotFound
from broadcastops.i18n import Message, MessageKind, choice_message
from broadcastops.inventory import messages as m
from broadcastops.inventory.attention import ATTENTION, channel_attention_reasons
from broadcastops.inventory.diagnosis import Diagnosis, channel_diagnose
from broadcastops.inventory.models import (
    CssStream,
    FailoverEvent,
    Health,
    LinkFlow,
    LiveChannel,
    PackageChannel,
    ServiceSync,
)
from broadcastops.inventory.services.sync import last_success

__all__ = ["ATTENTION", "channel_attention_reasons"]  # the one definition, re-exported


def channel_list(
    *, state: str = "", active_input: str = "", attention: bool | None = None
) -> QuerySet[LiveChannel]:
    channels = LiveChannel.objects.filter(removed_at__isnull=True).select_related(
        "package_channel", "css_stream"
    )
    if state:
        channels = channels.filter(state=state)
    if active_input:
        channels = channels.filter(active_input=active_input)
    if attention is True:
        channels = channels.filter(ATTENTION)
    elif attention is False:
        channels = channels.exclude(ATTENTION)
    return channels


def channel_get(*, key: str) -> LiveChannel:
    """A channel by cloud id, name or database id."""
    lookup = Q(cloud_id=key) | Q(name=key)
    if key.isdigit():
        lookup |= Q(pk=int(key))
    channel = (
        LiveChannel.objects.filter(lookup, removed_at__isnull=True)
        .select_related("package_channel", "css_stream")
        .first()
    )
    if channel is None:
        raise NotFound(_("No channel named or with id “%(key)s”.") % {"key": key})
    return channel


def flow_get(*, key: str) -> LinkFlow:
    lookup = Q(cloud_id=key) | Q(name=key)
    if key.isdigit():
        lookup |= Q(pk=int(key))
    flow = LinkFlow.objects.filter(lookup, removed_at__isnull=True).first()
    if flow is None:
        raise NotFound(_("No StreamLink flow named or with id “%(key)s”.") % {"key": key})
    return flow


def package_channel_list() -> QuerySet[PackageChannel]:
    """StreamPackage channels, by name, with the live channels that feed them."""
    return PackageChannel.objects.prefetch_related("channels").order_by("name", "pk")


def package_channel_get(*, key: str) -> PackageChannel:
    """A StreamPackage channel by cloud id or name."""
    package = package_channel_list().filter(Q(cloud_id=key) | Q(name=key)).first()
    if package is None:
        raise NotFound(_("No StreamPackage channel named or with id “%(key)s”.") % {"key": key})
    return package


def css_stream_list(*, state: str = "") -> QuerySet[CssStream]:
    """CSS streams by stream name, with the live channels that push them."""
    streams = CssStream.objects.prefetch_related("channels").order_by("stream_name", "pk")
    return streams.filter(state=state) if state else streams


def css_stream_get(*, key: str) -> CssStream:
    """A CSS stream by its stream name (or ``app/stream``, or ``domain/app/stream``)."""
    parts = key.strip("/").split("/")
    streams = css_stream_list().filter(stream_name=parts[-1])
    if len(parts) >= 2:
        streams = streams.filter(app_name=parts[-2])
    if len(parts) >= 3:
        streams = streams.filter(domain=parts[-3])
    stream = streams.first()
    if stream is None:
        raise NotFound(_("No CSS stream “%(key)s”.") % {"key": key})
    return stream


def channel_flows(channel: LiveChannel) -> list[LinkFlow]:
    input_ids = [a["id"] for a in channel.attached_inputs]
    return list(
        LinkFlow.objects.filter(
            feeds_input__cloud_id__in=input_ids, removed_at__isnull=True
        ).order_by("role", "name")
    )


def channel_status_get(*, channel: LiveChannel, now: datetime | None = None) -> Diagnosis:
    now = now or timezone.now()
    failovers = list(
        FailoverEvent.objects.filter(channel=channel, occurred_at__gte=now - timedelta(hours=24))
    )
    return channel_diagnose(
        channel=channel, flows=channel_flows(channel), failovers=failovers, now=now
    )


@dataclass(frozen=True)
class StatusReport:
    """The infrastructure summary and every channel's diagnosis, worst first."""

    summary: dict[str, Any]
    channels: list[Diagnosis]


_HEALTH_ORDER: dict[str, int] = {
    Health.RED: 0,
    Health.AMBER: 1,
    Health.UNKNOWN: 2,
    Health.GREEN: 3,
    Health.IDLE: 4,
}


def status_get(*, now: datetime | None = None) -> StatusReport:
    """Every channel's diagnosis (needing attention first) and the summary, from one read:
    five queries (channels with their package and CSS rows, flows with their inputs,
    failovers of 24 h, CSS counts, services) whatever the number of rows."""
    now = now or timezone.now()
    channels = list(channel_list())
    flows = list(LinkFlow.objects.filter(removed_at__isnull=True).select_related("feeds_input"))
    flows_by_input: dict[str, list[LinkFlow]] = {}
    for flow in flows:
        if flow.feeds_input is not None:
            flows_by_input.setdefault(flow.feeds_input.cloud_id, []).append(flow)
    events = list(FailoverEvent.objects.filter(occurred_at__gte=now - timedelta(hours=24)))
    events_by_channel: dict[int, list[FailoverEvent]] = {}
    for event in events:
        events_by_channel.setdefault(event.channel_id, []).append(event)
    diagnoses = []
    for channel in channels:
        feeding = [f for a in channel.attached_inputs for f in flows_by_input.get(a["id"], [])]
        feeding.sort(key=lambda f: (f.role, f.name))
        diagnoses.append(
            channel_diagnose(
                channel=channel,
                flows=feeding,
                failovers=events_by_channel.get(channel.pk, []),
                now=now,
            )
        )
    diagnoses.sort(
        key=lambda d: (not d.needs_attention, _HEALTH_ORDER.get(d.health, 5), d.channel_name)
    )
    return StatusReport(summary=_summary(channels, flows, diagnoses, events), channels=diagnoses)


def _summary(
    channels: list[LiveChannel],
    flows: list[LinkFlow],
    diagnoses: list[Diagnosis],
    events: list[FailoverEvent],
) -> dict[str, Any]:
    freshness = last_success()
    return {
        "streamlive": {
            "by_state": dict(Counter(c.state for c in channels)),
            "by_health": dict(Counter(c.health for c in channels)),
            "by_input": dict(Counter(c.active_input for c in channels)),
        },
        "streamlink": {"by_state": dict(Counter(f.state for f in flows))},
        "streampackage": {"channels": sum(1 for c in channels if c.package_channel_id)},
        "css": {"by_state": dict(CssStream.objects.values_list("state").annotate(n=Count("id")))},
        # The same reasons as the rows' (inventory.attention), so the count is the rows'.
        "attention": sum(1 for d in diagnoses if d.needs_attention),
        "services": [
            {
                "service": s.service,
                "name": s.get_service_display(),
                "stale_since": s.stale_since,
                "last_error": s.last_error if s.stale_since else "",
                "last_success_at": freshness.get(s.service, s.last_success_at),
            }
            for s in ServiceSync.objects.order_by("service")
        ],
        "failovers_24h": sum(1 for e in events if e.kind == FailoverEvent.Kind.FAILOVER),
    }


def _labels(kinds: dict[str, MessageKind], values: Iterable[str]) -> dict[str, Message]:
    return {value: choice_message(kinds, value) for value in values}


def dashboard_get() -> dict[str, Any]:
    """What the console's landing page shows: the summary and the channels, worst first.

    Sentences and labels are messages: the caller renders them in each reader's language."""
    report = status_get()
    live = report.summary["streamlive"]
    return {
        "type": "dashboard",
        "summary": report.summary,
        "labels": {
            "state": _labels(m.CHANNEL_STATE, live["by_state"]),
            "health": _labels(m.HEALTH, live["by_health"]),
            "input": _labels(m.INPUT, live["by_input"]),
            "flow_state": _labels(m.FLOW_STATE, report.summary["streamlink"]["by_state"]),
            "css_state": _labels(m.CSS_STATE, report.summary["css"]["by_state"]),
        },
        "channels": [
            {
                "id": d.channel_id,
                "name": d.channel_name,
                "state": d.state,
                "state_label": d.state_label,
                "health": d.health,
                "health_label": d.health_label,
                "active_input": d.active_input,
                "input_label": d.input_label,
                "ok": d.ok,
                "attention": d.needs_attention,
                "attention_reasons": d.attention,
                "attention_also": d.attention_also,
                "cause": d.cause,
                "stale_since": d.stale_since,
                "failovers_24h": d.failovers_24h,
            }
            for d in report.channels
        ],
    }
