"""Writing what the clouds listed into the inventory rows: only what changed is written.

Flows are matched to the inputs they feed by endpoint, output groups to StreamPackage
channels and CSS streams; a service that could not be listed marks its rows stale, never
stopped or removed.
"""

from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone

from broadcastops.cloud import types
from broadcastops.i18n import Text
from broadcastops.inventory import messages as m
from broadcastops.inventory.inference import (
    active_input_summary,
    health_of,
    input_roles,
    pipelines_infer,
)
from broadcastops.inventory.matching import endpoint_key, role_from_name
from broadcastops.inventory.models import (
    ChannelStatus,
    CloudService,
    CssStream,
    LinkFlow,
    LiveChannel,
    LiveInput,
    PackageChannel,
    ServiceSync,
)
from broadcastops.inventory.services.poll_types import ChannelSync, Listed, PollReport
from broadcastops.inventory.services.status import (
    apply_details,
    notify_transition,
    recently_stopped_by_operator,
)
from broadcastops.notify.services import notify

M = TypeVar("M", bound=Model)


class Writer:
    """Collects changed rows and counts writes, so a quiet poll writes almost nothing."""

    def __init__(self) -> None:
        self.writes = 0

    def upsert(
        self, model: type[M], lookup: dict[str, Any], values: dict[str, Any], existing: M | None
    ) -> M:
        if existing is None:
            self.writes += 1
            created: M = model._default_manager.create(**lookup, **values)
            return created
        changed = [k for k, v in values.items() if getattr(existing, k) != v]
        if changed:
            for k in changed:
                setattr(existing, k, values[k])
            existing.save(update_fields=changed)
            self.writes += 1
        return existing


def _flow_endpoints(flow: types.LinkFlow) -> list[str]:
    keys: list[str] = []
    for output in flow.outputs:
        keys.extend(endpoint_key(d.full_url) for d in output.destinations)
    return sorted({k for k in keys if k})


def _input_endpoints(live_input: types.LiveInput) -> list[str]:
    return [endpoint_key(e.push_url) for e in live_input.endpoints]


def _attached_json(channel: types.LiveChannel) -> list[dict[str, Any]]:
    return [
        {"id": a.id, "failover": a.failover.to_api() if a.failover is not None else None}
        for a in channel.attached_inputs
    ]


def _groups_json(channel: types.LiveChannel) -> list[dict[str, Any]]:
    return [
        {
            "name": g.name,
            "type": g.type,
            "destinations": list(g.destination_urls),
            "stream_package_id": g.stream_package_id,
        }
        for g in channel.output_groups
    ]


def _mark_stale(queryset: QuerySet[Any], now: datetime) -> int:
    return queryset.filter(stale_since__isnull=True).update(stale_since=now)


def _local_time(when: datetime) -> str:
    return timezone.localtime(when).strftime("%H:%M:%S %Z")


def service_state(service: str, error: str | None, now: datetime) -> int:
    """Record a service turning unreachable or answering again (and tell the operators)."""
    row, _ = ServiceSync.objects.get_or_create(service=service)
    if error is None:
        if row.stale_since is None and row.last_success_at is not None:
            return 0  # fresh and healthy: nothing to write
        ServiceSync.objects.filter(pk=row.pk).update(
            last_success_at=now, stale_since=None, last_error=""
        )
        if row.stale_since is not None:
            notify(
                event="service.reachable",
                subject=f"service:{service}",
                severity="resolved",
                title=m.REACHABLE_TITLE(service=row.get_service_display()),
                text=m.REACHABLE_TEXT(since=_local_time(row.stale_since), until=_local_time(now)),
            )
        return 1
    ServiceSync.objects.filter(pk=row.pk).update(
        last_error=error[:2000], last_error_at=now, stale_since=row.stale_since or now
    )
    if row.stale_since is None:
        notify(
            event="service.unreachable",
            subject=f"service:{service}",
            severity="warning",
            title=m.UNREACHABLE_TITLE(service=row.get_service_display()),
            text=m.UNREACHABLE_TEXT(service=row.get_service_display(), error=Text(error)),
            actions=[m.DO_CHECK_REACHABILITY()],
        )
    return 1


def sync_inputs(
    listed: Listed, cloud_inputs: list[types.LiveInput], writer: Writer, now: datetime
) -> dict[str, LiveInput]:
    existing = {i.cloud_id: i for i in LiveInput.objects.all()}
    if CloudService.STREAMLIVE not in listed:
        return existing
    for item in cloud_inputs:
        existing[item.id] = writer.upsert(
            LiveInput,
            {"cloud_id": item.id},
            {
                "name": item.name,
                "input_type": item.type,
                "endpoints": _input_endpoints(item),
                "attached_channel_ids": list(item.attached_channel_ids),
            },
            existing.get(item.id),
        )
    return existing


def sync_flows(
    listed: Listed, inputs_db: dict[str, LiveInput], writer: Writer, now: datetime
) -> dict[str, LinkFlow]:
    existing = {f.cloud_id: f for f in LinkFlow.objects.all()}
    if CloudService.STREAMLINK not in listed:
        writer.writes += _mark_stale(LinkFlow.objects.all(), now)
        return existing
    by_key: dict[str, LiveInput] = {}
    for live_input in sorted(inputs_db.values(), key=lambda i: i.cloud_id):
        for key in live_input.endpoints:
            by_key.setdefault(key, live_input)
    seen = set()
    for flow in listed[CloudService.STREAMLINK]:
        seen.add(flow.id)
        endpoints = _flow_endpoints(flow)
        feeds = next((by_key[k] for k in endpoints if k in by_key), None)
        existing[flow.id] = writer.upsert(
            LinkFlow,
            {"cloud_id": flow.id},
            {
                "name": flow.name,
                "state": flow.state,
                "role": role_from_name(flow.name)[0],
                "output_endpoints": endpoints,
                "feeds_input": feeds,
                "stale_since": None,
                "removed_at": None,
            },
            existing.get(flow.id),
        )
    gone = [f.pk for cid, f in existing.items() if cid not in seen and f.removed_at is None]
    if gone:
        writer.writes += LinkFlow.objects.filter(pk__in=gone).update(removed_at=now)
    return existing


def sync_packages(listed: Listed, writer: Writer, now: datetime) -> dict[str, PackageChannel]:
    existing = {p.cloud_id: p for p in PackageChannel.objects.all()}
    for item in listed.get(CloudService.STREAMPACKAGE, []):
        existing[item.id] = writer.upsert(
            PackageChannel,
            {"cloud_id": item.id},
            {"name": item.name, "protocol": item.protocol, "input_urls": list(item.input_urls)},
            existing.get(item.id),
        )
    return existing


def _css_key(domain: str, app: str, stream: str) -> str:
    return endpoint_key(f"rtmp://{domain}/{app}/{stream}")


def sync_css(listed: Listed, writer: Writer, now: datetime) -> dict[str, CssStream]:
    existing = {_css_key(s.domain, s.app_name, s.stream_name): s for s in CssStream.objects.all()}
    if CloudService.CSS not in listed:
        return existing
    online = set()
    for item in listed[CloudService.CSS]:
        key = _css_key(item.domain_name, item.app_name, item.stream_name)
        online.add(key)
        existing[key] = writer.upsert(
            CssStream,
            {
                "domain": item.domain_name,
                "app_name": item.app_name,
                "stream_name": item.stream_name,
            },
            {
                "state": CssStream.State.ACTIVE,
                "publish_started_at": max(item.publish_times, default=None),
            },
            existing.get(key),
        )
    # The online list only names pushed streams: a known stream missing from it is inactive
    # (or forbidden, which only DescribeLiveStreamState tells; the diagnosis asks for it).
    offline = [
        s.pk for k, s in existing.items() if k not in online and s.state == CssStream.State.ACTIVE
    ]
    if offline:
        writer.writes += CssStream.objects.filter(pk__in=offline).update(
            state=CssStream.State.INACTIVE
        )
    return existing


def _link_package(
    cloud: types.LiveChannel, packages: dict[str, PackageChannel]
) -> PackageChannel | None:
    by_id = {p.cloud_id: p for p in packages.values()}
    urls = {endpoint_key(u): p for p in packages.values() for u in p.input_urls}
    for group in cloud.output_groups:
        if group.stream_package_id in by_id:
            return by_id[group.stream_package_id]
        for url in group.destination_urls:
            if endpoint_key(url) in urls:
                return urls[endpoint_key(url)]
    return None


def _link_css(cloud: types.LiveChannel, css: dict[str, CssStream]) -> CssStream | None:
    for group in cloud.output_groups:
        for url in group.destination_urls:
            if endpoint_key(url) in css:
                return css[endpoint_key(url)]
    return None


def _register_css_targets(
    cloud_channels: list[types.LiveChannel],
    css: dict[str, CssStream],
    writer: Writer,
    css_listed: bool,
) -> None:
    """A channel's RTMP output to CSS names a stream even before it is pushed: know it."""
    for cloud in cloud_channels:
        for group in cloud.output_groups:
            if group.type != "RTMP":
                continue
            for url in group.destination_urls:
                key = endpoint_key(url)
                parts = key.split("/")
                if key in css or len(parts) < 5 or not key.startswith("rtmp://"):
                    continue
                domain, app, stream = parts[2], parts[3], "/".join(parts[4:])
                # Not in the online list we hold: not being pushed (unknown if never listed).
                state = CssStream.State.INACTIVE if css_listed else CssStream.State.UNKNOWN
                css[key] = writer.upsert(
                    CssStream,
                    {"domain": domain, "app_name": app, "stream_name": stream},
                    {"state": state},
                    None,
                )


def sync_channels(rows: ChannelSync, *, writer: Writer, now: datetime, report: PollReport) -> None:
    """Write the listed channels, their status from this poll's details, and the history."""
    listed, cloud_channels, channels_db = rows.listed, rows.cloud_channels, rows.channels_db
    if CloudService.STREAMLIVE not in listed:
        writer.writes += _mark_stale(LiveChannel.objects.filter(removed_at__isnull=True), now)
        return
    css = rows.css
    _register_css_targets(cloud_channels, css, writer, css_listed=CloudService.CSS in listed)
    flow_role_by_input: dict[str, str] = {}
    for flow in rows.flows.values():
        if flow.feeds_input_id and flow.removed_at is None:
            feeds = flow.feeds_input
            assert feeds is not None  # feeds_input_id is set
            flow_role_by_input[feeds.cloud_id] = flow.role
    seen = set()
    for cloud in cloud_channels:
        seen.add(cloud.id)
        channel = channels_db.get(cloud.id)
        values: dict[str, Any] = {
            "name": cloud.name,
            "state": cloud.state,
            "attached_inputs": _attached_json(cloud),
            "output_groups": _groups_json(cloud),
            "package_channel": _link_package(cloud, rows.packages),
            "css_stream": _link_css(cloud, css),
            "notify_url": cloud.notify_url,
            "stale_since": None,
            "removed_at": None,
        }
        status_changed = False
        transitions: list[tuple[str, int]] = []
        if channel is None:
            channel = writer.upsert(LiveChannel, {"cloud_id": cloud.id}, values, None)
            status_changed = True
        detail = rows.details.get(cloud.id)
        if detail is not None and not detail.error:
            roles = input_roles(cloud, flow_role_by_input)
            more, status_changed_now, transitions = apply_details(
                channel, cloud, detail, roles, now, report
            )
            values.update(more)
            status_changed = status_changed or status_changed_now
        elif cloud.state != LiveChannel.State.RUNNING and cloud.state != channel.state:
            # Not detailed this poll but no longer on air: no input, whatever we saw before.
            pipelines = pipelines_infer(channel=cloud, statistics=None, alerts=[], roles={})
            values.update(
                pipelines=pipelines,
                active_input=active_input_summary(cloud.state, pipelines),
                health=health_of(cloud.state, pipelines),
            )
        stopped = channels_db.get(cloud.id) is not None and (
            channels_db[cloud.id].state == LiveChannel.State.RUNNING
            and cloud.state == LiveChannel.State.IDLE
        )
        if channels_db.get(cloud.id) is not None and channel.state != cloud.state:
            status_changed = True
            values["changed_at"] = now
        channel = writer.upsert(LiveChannel, {"cloud_id": cloud.id}, values, channel)
        for kind, pipeline in transitions:
            notify_transition(channel, kind, pipeline, now)
        if stopped and not recently_stopped_by_operator(channel, now):
            notify_transition(channel, "stopped", None, now)
        if status_changed:
            report.changed += 1
            writer.writes += 1
            ChannelStatus.objects.create(
                channel=channel,
                at=now,
                state=channel.state,
                active_input=channel.active_input,
                health=channel.health,
                pipelines=channel.pipelines,
            )
    gone = [c.pk for cid, c in channels_db.items() if cid not in seen and c.removed_at is None]
    if gone:
        writer.writes += LiveChannel.objects.filter(pk__in=gone).update(removed_at=now)
