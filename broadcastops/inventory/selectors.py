"""Reads of the inventory: lists, the full status, the summary. Every interface uses these."""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from broadcastops.errors import NotFound
from broadcastops.inventory.diagnosis import Diagnosis, channel_diagnose
from broadcastops.inventory.models import (
    CssStream,
    FailoverEvent,
    Health,
    LinkFlow,
    LiveChannel,
    ServiceSync,
)
from broadcastops.inventory.services.sync import last_success

ATTENTION = Q(health__in=[Health.AMBER, Health.RED]) | Q(stale_since__isnull=False)


def channel_list(*, state: str = "", active_input: str = "", attention: bool | None = None):
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
        raise NotFound(f"No channel named or with id {key!r}.")
    return channel


def flow_get(*, key: str) -> LinkFlow:
    lookup = Q(cloud_id=key) | Q(name=key)
    if key.isdigit():
        lookup |= Q(pk=int(key))
    flow = LinkFlow.objects.filter(lookup, removed_at__isnull=True).first()
    if flow is None:
        raise NotFound(f"No StreamLink flow named or with id {key!r}.")
    return flow


def channel_flows(channel: LiveChannel) -> list[LinkFlow]:
    input_ids = [a["id"] for a in channel.attached_inputs]
    return list(
        LinkFlow.objects.filter(
            feeds_input__cloud_id__in=input_ids, removed_at__isnull=True
        ).order_by("role", "name")
    )


def channel_status_get(*, channel: LiveChannel, now=None) -> Diagnosis:
    now = now or timezone.now()
    failovers = list(
        FailoverEvent.objects.filter(channel=channel, occurred_at__gte=now - timedelta(hours=24))
    )
    return channel_diagnose(
        channel=channel, flows=channel_flows(channel), failovers=failovers, now=now
    )


def status_list(*, now=None) -> list[Diagnosis]:
    """Every channel's diagnosis, the ones needing attention first."""
    now = now or timezone.now()
    channels = list(channel_list())
    flows_by_input: dict[str, list[LinkFlow]] = {}
    for flow in LinkFlow.objects.filter(removed_at__isnull=True, feeds_input__isnull=False):
        flows_by_input.setdefault(flow.feeds_input.cloud_id if flow.feeds_input else "", []).append(
            flow
        )
    events: dict[int, list[FailoverEvent]] = {}
    for event in FailoverEvent.objects.filter(occurred_at__gte=now - timedelta(hours=24)):
        events.setdefault(event.channel_id, []).append(event)
    result = []
    for channel in channels:
        flows = [f for a in channel.attached_inputs for f in flows_by_input.get(a["id"], [])]
        flows.sort(key=lambda f: (f.role, f.name))
        result.append(
            channel_diagnose(
                channel=channel, flows=flows, failovers=events.get(channel.pk, []), now=now
            )
        )
    order = {Health.RED: 0, Health.AMBER: 1, Health.UNKNOWN: 2, Health.GREEN: 3, Health.IDLE: 4}
    result.sort(key=lambda d: (d.ok, order.get(d.health, 5), d.channel_name))
    return result


def summary_get() -> dict:
    """Counts by state per service, stale services, the attention list size."""
    live = LiveChannel.objects.filter(removed_at__isnull=True)
    flows = LinkFlow.objects.filter(removed_at__isnull=True)
    freshness = last_success()
    return {
        "streamlive": {
            "by_state": dict(live.values_list("state").annotate(n=Count("id"))),
            "by_health": dict(live.values_list("health").annotate(n=Count("id"))),
            "by_input": dict(live.values_list("active_input").annotate(n=Count("id"))),
        },
        "streamlink": {"by_state": dict(flows.values_list("state").annotate(n=Count("id")))},
        "streampackage": {"channels": live.filter(package_channel__isnull=False).count()},
        "css": {"by_state": dict(CssStream.objects.values_list("state").annotate(n=Count("id")))},
        "attention": live.filter(ATTENTION).count(),
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
        "failovers_24h": FailoverEvent.objects.filter(
            kind=FailoverEvent.Kind.FAILOVER,
            occurred_at__gte=timezone.now() - timedelta(hours=24),
        ).count(),
    }


def dashboard_get() -> dict:
    """What the console's landing page shows: the summary and the channels, worst first."""
    diagnoses = status_list()
    return {
        "type": "dashboard",
        "summary": summary_get(),
        "channels": [
            {
                "id": d.channel_id,
                "name": d.channel_name,
                "state": d.state,
                "health": d.health,
                "active_input": d.active_input,
                "ok": d.ok,
                "attention": bool(
                    d.health in (Health.AMBER, Health.RED) or d.stale_since or d.warnings
                ),
                "cause": d.cause,
                "warnings": d.warnings,
                "stale_since": d.stale_since,
                "failovers_24h": d.failovers_24h,
            }
            for d in diagnoses
        ],
    }
