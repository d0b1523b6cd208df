"""Polling the four Tencent services into the inventory.

One poll lists each service once, then fetches details for the channels that are due, in
parallel inside the gateway's per-action rate limits: on-air or at-risk channels every
``INVENTORY_ON_AIR_INTERVAL_S``, idle ones every ``INVENTORY_IDLE_INTERVAL_S``, the CSS online
list at most every ``INVENTORY_CSS_INTERVAL_S``. A poll that finds another one running skips
its tick instead of piling up. Every cloud call happens before the one write transaction,
and only rows that changed are written.
"""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from broadcastops.cloud import types
from broadcastops.cloud.errors import CloudError
from broadcastops.cloud.tencent import map_parallel, tencent_gateway
from broadcastops.inventory import metrics
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
    FailoverEvent,
    Health,
    InputRole,
    LinkFlow,
    LiveChannel,
    LiveInput,
    OperatorAction,
    PackageChannel,
    ServiceSync,
)
from broadcastops.notify.models import Notification
from broadcastops.notify.services import notify

logger = logging.getLogger(__name__)

LOCK_KEY = "inventory:poll:lock"
DETAIL_KEY = "inventory:detail_synced"  # {channel id: unix time of its last details}
SUCCESS_KEY = "inventory:last_success"  # {service: unix time of its last good list}


# fn(report) called after each poll's transaction (failover registers its audit in ready()).
_AFTER_POLL: list = []


def after_poll_register(fn) -> None:
    """Let another app run after every poll, outside its transaction; its errors are logged."""
    if fn not in _AFTER_POLL:
        _AFTER_POLL.append(fn)


def last_success() -> dict[str, datetime]:
    """When each service last answered a list call (for the data's age on the dashboard)."""
    raw = cache.get(SUCCESS_KEY) or {}
    return {k: datetime.fromtimestamp(v, tz=UTC) for k, v in raw.items()}


@dataclass
class PollReport:
    """What one poll did; the command, the task and the benchmark print it."""

    skipped: bool = False
    started_at: datetime | None = None
    duration_s: float = 0.0
    channels: int = 0
    details: int = 0
    changed: int = 0
    writes: int = 0
    events: int = 0
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class _Details:
    statistics: types.ChannelInputStatistics | None
    alerts: list[types.PipelineAlert]
    logs: list[types.ChannelLogEntry]
    error: str = ""


# --- listing ------------------------------------------------------------------------------


def _list_all(gateway, want_css: bool) -> tuple[dict, dict[str, str]]:
    """Call the list actions side by side; a failed service is reported, not raised."""
    calls = {
        CloudService.STREAMLIVE: lambda: (gateway.live_channel_list(), gateway.live_input_list()),
        CloudService.STREAMLINK: gateway.link_flow_list,
        CloudService.STREAMPACKAGE: gateway.package_channel_list,
    }
    if want_css:
        calls[CloudService.CSS] = gateway.css_stream_online_list
    services = list(calls)
    outcomes = map_parallel(lambda service: calls[service](), services, max_workers=len(calls))
    results, errors = {}, {}
    for service, outcome in zip(services, outcomes, strict=True):
        if isinstance(outcome, CloudError):
            logger.warning("Inventory: %s list failed: %s", service, outcome)
            errors[service] = str(outcome)
        else:
            results[service] = outcome
    return results, errors


def _fetch_details(gateway, channel_ids: list[str], since: dict[str, datetime], now) -> dict:
    window = timedelta(seconds=settings.INVENTORY_STATS_WINDOW_S)

    def one(channel_id: str) -> _Details:
        statistics = gateway.live_channel_input_statistics(
            channel_id=channel_id, start=now - window, end=now, period="5s"
        )
        alerts = gateway.live_channel_alert_list(channel_id=channel_id)
        start = since.get(channel_id) or now - timedelta(hours=1)
        start = max(start - window, now - timedelta(days=6))
        logs = gateway.live_channel_log_list(channel_id=channel_id, start=start, end=now)
        return _Details(statistics, alerts, logs)

    outcomes = map_parallel(one, channel_ids, max_workers=settings.INVENTORY_DETAIL_WORKERS)
    details = {}
    for channel_id, outcome in zip(channel_ids, outcomes, strict=True):
        if isinstance(outcome, CloudError):
            logger.warning("Inventory: details of channel %s failed: %s", channel_id, outcome)
            outcome = _Details(None, [], [], error=str(outcome))
        details[channel_id] = outcome
    return details


def _due(channel: LiveChannel | None, cloud_state: str, last: float | None, now) -> bool:
    if channel is None or last is None:
        return True
    at_risk = cloud_state != "IDLE" or channel.health not in (Health.IDLE, Health.GREEN)
    interval = (
        settings.INVENTORY_ON_AIR_INTERVAL_S if at_risk else settings.INVENTORY_IDLE_INTERVAL_S
    )
    # A little slack so a 10 s beat does not skip a channel refreshed 9.9 s ago.
    return now.timestamp() - last >= interval * 0.9


def _due_channels(cloud_channels, channels_db, detail_synced, now, full: bool) -> list[str]:
    """The channels to detail in this poll: every due on-air or at-risk channel, then the
    longest-waiting due idle ones up to ``INVENTORY_DETAILS_PER_POLL``. The budget keeps
    every poll well inside its tick (a poll that runs long delays the on-air refresh) and
    spreads idle channels over several polls instead of letting them all fall due at once."""
    if full:
        return [c.id for c in cloud_channels]
    urgent, idle = [], []
    for cloud in cloud_channels:
        channel = channels_db.get(cloud.id)
        last = detail_synced.get(cloud.id)
        if not _due(channel, cloud.state, last, now):
            continue
        at_risk = (
            cloud.state != "IDLE"
            or channel is None
            or channel.health
            not in (
                Health.IDLE,
                Health.GREEN,
            )
        )
        (urgent if at_risk else idle).append((last or 0.0, cloud.id))
    room = max(0, settings.INVENTORY_DETAILS_PER_POLL - len(urgent))
    idle.sort()
    return [cid for _, cid in urgent] + [cid for _, cid in idle[:room]]


# --- writing ------------------------------------------------------------------------------


class _Writer:
    """Collects changed rows and counts writes, so a quiet poll writes almost nothing."""

    def __init__(self):
        self.writes = 0

    def upsert(self, model, lookup: dict, values: dict, existing):
        if existing is None:
            self.writes += 1
            return model.objects.create(**lookup, **values)
        changed = [k for k, v in values.items() if getattr(existing, k) != v]
        if changed:
            for k in changed:
                setattr(existing, k, values[k])
            existing.save(update_fields=changed)
            self.writes += 1
        return existing


def _flow_endpoints(flow: types.LinkFlow) -> list[str]:
    keys = []
    for output in flow.outputs:
        keys.extend(endpoint_key(d.full_url) for d in output.destinations)
    return sorted({k for k in keys if k})


def _input_endpoints(live_input: types.LiveInput) -> list[str]:
    return [endpoint_key(e.push_url) for e in live_input.endpoints]


def _attached_json(channel: types.LiveChannel) -> list[dict]:
    return [
        {"id": a.id, "failover": a.failover.to_api() if a.failover is not None else None}
        for a in channel.attached_inputs
    ]


def _groups_json(channel: types.LiveChannel) -> list[dict]:
    return [
        {
            "name": g.name,
            "type": g.type,
            "destinations": list(g.destination_urls),
            "stream_package_id": g.stream_package_id,
        }
        for g in channel.output_groups
    ]


def _mark_stale(queryset, now) -> int:
    return queryset.filter(stale_since__isnull=True).update(stale_since=now)


def _service_state(service: str, error: str | None, now) -> int:
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
                title=f"{row.get_service_display()} answers again",
                text=f"Unreachable from {row.stale_since:%H:%M:%S} until {now:%H:%M:%S} UTC.",
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
            title=f"{row.get_service_display()} cannot be reached",
            text=f"Statuses from {row.get_service_display()} are stale, not stopped. {error}",
            actions=["Check the Tencent Cloud status page, the network and the credentials."],
        )
    return 1


def _recently_stopped_by_operator(channel: LiveChannel, now) -> bool:
    return OperatorAction.objects.filter(
        target_type="channel",
        target_id=channel.cloud_id,
        action__in=["channel.stop", "channel.restart"],
        created_at__gte=now - timedelta(minutes=30),
    ).exists()


def _record_event(channel, pipeline, kind, source, occurred_at, message="", **inputs) -> bool:
    """Store a failover event once. An observed change and the log line for the same switch
    are the same event: the log's time wins."""
    window = timedelta(seconds=settings.INVENTORY_EVENT_MERGE_WINDOW_S)
    nearby = FailoverEvent.objects.filter(
        channel=channel,
        pipeline=pipeline,
        kind=kind,
        occurred_at__gte=occurred_at - window,
        occurred_at__lte=occurred_at + window,
    )
    if source == FailoverEvent.Source.OBSERVED and nearby.exists():
        return False
    if source == FailoverEvent.Source.LOG:
        observed = nearby.filter(source=FailoverEvent.Source.OBSERVED).first()
        if observed is not None:
            FailoverEvent.objects.filter(pk=observed.pk).update(
                source=source, occurred_at=occurred_at, message=message
            )
            return False
    try:
        with transaction.atomic():
            FailoverEvent.objects.create(
                channel=channel,
                pipeline=pipeline,
                kind=kind,
                source=source,
                occurred_at=occurred_at,
                message=message,
                from_input_id=inputs.get("from_input_id", ""),
                to_input_id=inputs.get("to_input_id", ""),
            )
    except IntegrityError:
        return False  # already recorded by an earlier poll
    return True


def _notify_transition(channel: LiveChannel, kind: str, pipeline: int | None, now) -> None:
    where = f"pipeline {pipeline}" if pipeline is not None else "the channel"
    local = timezone.localtime(now).strftime("%H:%M:%S")
    facts = {"Channel": channel.name, "State": channel.state, "Input": channel.active_input}
    if kind == "failover":
        notify(
            event="channel.failover",
            subject=channel.cloud_id,
            severity="critical",
            title=f"{channel.name} switched to the BACKUP input",
            text=f"{where} lost its MAIN input at {local}.",
            facts=facts,
            actions=[
                "Check the MAIN encoder and the MAIN StreamLink flow.",
                "Run `ops_status --channel " + channel.name + "` for the full diagnosis.",
            ],
        )
    elif kind == "recover":
        notify(
            event="channel.recovered",
            subject=channel.cloud_id,
            severity="resolved",
            title=f"{channel.name} is back on the MAIN input",
            text=f"{where} recovered at {local}.",
            facts=facts,
        )
    elif kind == "input_restored":
        if Notification.objects.filter(
            event="channel.input_lost",
            subject=channel.cloud_id,
            created_at__gte=now - timedelta(seconds=settings.NOTIFY_DEDUP_WINDOW_S),
        ).exists():
            notify(
                event="channel.input_restored",
                subject=channel.cloud_id,
                severity="resolved",
                title=f"{channel.name} has its MAIN input again",
                text=f"{where} receives its MAIN input again since {local}.",
                facts=facts,
            )
    elif kind == "input_lost":
        notify(
            event="channel.input_lost",
            subject=channel.cloud_id,
            severity="critical",
            title=f"{channel.name} lost its input",
            text=f"{where} has no input since {local}: viewers may see the loss image.",
            facts=facts,
            actions=["Check the encoders and the StreamLink flows feeding this channel."],
        )
    elif kind == "stopped":
        notify(
            event="channel.stopped",
            subject=channel.cloud_id,
            severity="critical",
            title=f"{channel.name} stopped unexpectedly",
            text=f"The StreamLive channel went IDLE at {local} without an operator stopping it.",
            facts=facts,
            actions=[
                f"Start {channel.name} from the console if it should be on air.",
                "Check the schedules and the Tencent console for who stopped it.",
            ],
        )


def _input_lost_for_grace(channel: LiveChannel, pipeline: int, now) -> bool:
    lost = (
        FailoverEvent.objects.filter(
            channel=channel, pipeline=pipeline, kind=FailoverEvent.Kind.INPUT_LOST
        )
        .order_by("-occurred_at")
        .first()
    )
    grace = timedelta(seconds=settings.INVENTORY_INPUT_LOST_GRACE_S)
    # Without a recorded loss, count from the channel's last change of state: a channel that
    # has just been started gets the grace period before its first input arrives.
    since = lost.occurred_at if lost is not None else channel.changed_at
    return since is None or now - since >= grace


def _transition(before: str | None, after: str) -> tuple[str | None, str | None]:
    """(event kind to record, alert to send) for a pipeline's change of input role.

    Every failover passes through a moment without input (the LossThreshold), so losing the
    input is recorded at once but alerted only when the next poll still sees no input.
    """
    Kind = FailoverEvent.Kind
    if after == InputRole.BACKUP and before in (InputRole.MAIN, InputRole.NONE):
        return Kind.FAILOVER, Kind.FAILOVER
    if after == InputRole.MAIN and before == InputRole.BACKUP:
        return Kind.RECOVER, Kind.RECOVER
    if after == InputRole.MAIN and before == InputRole.NONE:
        return None, "input_restored"
    if after == InputRole.NONE and before in (InputRole.MAIN, InputRole.BACKUP):
        return Kind.INPUT_LOST, None
    if after == InputRole.NONE and before == InputRole.NONE:
        return None, Kind.INPUT_LOST
    return None, None


def _apply_details(channel: LiveChannel, cloud: types.LiveChannel, details, roles, now, report):
    """Update one channel's status from its details; record history, events, notifications."""
    previous = {p["pipeline"]: p for p in channel.pipelines or []}
    transitions: list[tuple[str, int]] = []
    pipelines = pipelines_infer(
        channel=cloud, statistics=details.statistics, alerts=details.alerts, roles=roles
    )
    active = active_input_summary(cloud.state, pipelines)
    health = health_of(cloud.state, pipelines)
    for p in pipelines:
        before = previous.get(p["pipeline"], {}).get("role")
        after = p["role"]
        if cloud.state != "RUNNING":
            continue
        kind, alert = _transition(before, after)
        if kind and _record_event(
            channel,
            p["pipeline"],
            kind,
            FailoverEvent.Source.OBSERVED,
            now,
            from_input_id=previous.get(p["pipeline"], {}).get("input_id", ""),
            to_input_id=p["input_id"],
        ):
            report.events += 1
        if alert == FailoverEvent.Kind.INPUT_LOST and not _input_lost_for_grace(
            channel, p["pipeline"], now
        ):
            alert = None
        if alert:
            transitions.append((alert, p["pipeline"]))
    failover_types = set(settings.INVENTORY_FAILOVER_LOG_TYPES)
    recover_types = set(settings.INVENTORY_RECOVER_LOG_TYPES)
    for entry in details.logs:
        if entry.time is None or entry.type not in failover_types | recover_types:
            continue
        kind = (
            FailoverEvent.Kind.FAILOVER
            if entry.type in failover_types
            else FailoverEvent.Kind.RECOVER
        )
        if _record_event(
            channel, entry.pipeline, kind, FailoverEvent.Source.LOG, entry.time, entry.type
        ):
            report.events += 1
            # A switch the statistics did not catch yet is still news (dedup keeps it single).
            transitions.append((kind, entry.pipeline))
    values = {
        "pipelines": pipelines,
        "active_input": active,
        "health": health,
    }
    status_changed = (
        channel.active_input != active
        or channel.health != health
        or [p["role"] for p in channel.pipelines or []] != [p["role"] for p in pipelines]
    )
    return values, status_changed, transitions


def _dashboard_nudge() -> None:
    """Tell dashboards in every web process to refresh now (scaled mode; embedded ones poll)."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    try:
        async_to_sync(get_channel_layer().group_send)(
            "inventory.dashboard", {"type": "dashboard.changed"}
        )
    except Exception:  # the dashboards refresh on their own timer anyway
        logger.warning("Could not nudge the dashboards", exc_info=True)


def inventory_poll(*, now: datetime | None = None, full: bool = False) -> PollReport:
    """One poll of every service; see the module docstring. Safe to call from many workers."""
    token = uuid.uuid4().hex
    if not cache.add(LOCK_KEY, token, timeout=settings.INVENTORY_POLL_LOCK_TTL_S):
        logger.info("Inventory poll skipped: another poll is still running")
        return PollReport(skipped=True)
    started = time.monotonic()
    try:
        return _poll(now=now or timezone.now(), full=full, started=started)
    finally:
        if cache.get(LOCK_KEY) == token:
            cache.delete(LOCK_KEY)


def _poll(*, now: datetime, full: bool, started: float) -> PollReport:
    report = PollReport(started_at=now)
    gateway = tencent_gateway()
    css_sync = ServiceSync.objects.filter(service=CloudService.CSS).first()
    want_css = (
        full
        or css_sync is None
        or css_sync.last_success_at is None
        or css_sync.stale_since is not None
        or now - css_sync.last_success_at >= timedelta(seconds=settings.INVENTORY_CSS_INTERVAL_S)
    )
    listed, report.errors = _list_all(gateway, want_css)

    channels_db = {c.cloud_id: c for c in LiveChannel.objects.all()}
    cloud_channels: list[types.LiveChannel] = []
    cloud_inputs: list[types.LiveInput] = []
    if CloudService.STREAMLIVE in listed:
        cloud_channels, cloud_inputs = listed[CloudService.STREAMLIVE]
    report.channels = len(cloud_channels) or len(channels_db)

    detail_synced = cache.get(DETAIL_KEY) or {}
    due = _due_channels(cloud_channels, channels_db, detail_synced, now, full)
    since = {
        cid: datetime.fromtimestamp(detail_synced[cid], tz=UTC)
        for cid in due
        if cid in detail_synced
    }
    details = _fetch_details(gateway, due, since, now) if due else {}
    report.details = len(due)

    writer = _Writer()
    with transaction.atomic():
        for service in CloudService.values:
            if service in listed or service in report.errors:
                writer.writes += _service_state(service, report.errors.get(service), now)
        inputs_db = _sync_inputs(listed, cloud_inputs, writer, now)
        flows_db = _sync_flows(listed, inputs_db, writer, now)
        packages = _sync_packages(listed, writer, now)
        css = _sync_css(listed, writer, now)
        _sync_channels(
            listed,
            cloud_channels,
            channels_db,
            details,
            flows_db,
            packages,
            css,
            writer,
            now,
            report,
        )
    detail_synced.update({cid: now.timestamp() for cid, d in details.items() if not d.error})
    cache.set(DETAIL_KEY, detail_synced, timeout=None)
    successes = cache.get(SUCCESS_KEY) or {}
    successes.update({service: now.timestamp() for service in listed})
    cache.set(SUCCESS_KEY, successes, timeout=None)
    if report.changed or report.events:
        transaction.on_commit(_dashboard_nudge)
    report.writes = writer.writes
    report.duration_s = time.monotonic() - started
    metrics.poll_observe(report)
    logger.info(
        "Inventory poll: %s channels, %s detailed, %s changed, %s writes, %s events in %.2f s",
        report.channels,
        report.details,
        report.changed,
        report.writes,
        report.events,
        report.duration_s,
    )
    for fn in _AFTER_POLL:
        try:
            fn(report)
        except Exception:  # a hook's bug must never break polling
            logger.exception("Inventory poll: after-poll hook %s failed", fn)
    return report


def _sync_inputs(listed, cloud_inputs, writer, now) -> dict[str, LiveInput]:
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


def _sync_flows(listed, inputs_db, writer, now) -> dict[str, LinkFlow]:
    existing = {f.cloud_id: f for f in LinkFlow.objects.all()}
    if CloudService.STREAMLINK not in listed:
        writer.writes += _mark_stale(LinkFlow.objects.all(), now)
        return existing
    by_key = {}
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


def _sync_packages(listed, writer, now) -> dict[str, PackageChannel]:
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


def _sync_css(listed, writer, now) -> dict[str, CssStream]:
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
    offline = [s.pk for k, s in existing.items() if k not in online and s.state == "active"]
    if offline:
        writer.writes += CssStream.objects.filter(pk__in=offline).update(
            state=CssStream.State.INACTIVE
        )
    return existing


def _link_package(cloud, packages) -> PackageChannel | None:
    by_id = {p.cloud_id: p for p in packages.values()}
    urls = {endpoint_key(u): p for p in packages.values() for u in p.input_urls}
    for group in cloud.output_groups:
        if group.stream_package_id in by_id:
            return by_id[group.stream_package_id]
        for url in group.destination_urls:
            if endpoint_key(url) in urls:
                return urls[endpoint_key(url)]
    return None


def _link_css(cloud, css) -> CssStream | None:
    for group in cloud.output_groups:
        for url in group.destination_urls:
            if endpoint_key(url) in css:
                return css[endpoint_key(url)]
    return None


def _register_css_targets(cloud_channels, css, writer, css_listed: bool) -> None:
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


def _sync_channels(
    listed, cloud_channels, channels_db, details, flows_db, packages, css, writer, now, report
):
    if CloudService.STREAMLIVE not in listed:
        writer.writes += _mark_stale(LiveChannel.objects.filter(removed_at__isnull=True), now)
        return
    _register_css_targets(cloud_channels, css, writer, css_listed=CloudService.CSS in listed)
    flow_role_by_input = {}
    for flow in flows_db.values():
        if flow.feeds_input_id and flow.removed_at is None:
            flow_role_by_input[flow.feeds_input.cloud_id] = flow.role
    seen = set()
    for cloud in cloud_channels:
        seen.add(cloud.id)
        channel = channels_db.get(cloud.id)
        values = {
            "name": cloud.name,
            "state": cloud.state,
            "attached_inputs": _attached_json(cloud),
            "output_groups": _groups_json(cloud),
            "package_channel": _link_package(cloud, packages),
            "css_stream": _link_css(cloud, css),
            "stale_since": None,
            "removed_at": None,
        }
        status_changed = False
        transitions: list[tuple[str, int]] = []
        if channel is None:
            channel = writer.upsert(LiveChannel, {"cloud_id": cloud.id}, values, None)
            status_changed = True
        detail = details.get(cloud.id)
        if detail is not None and not detail.error:
            roles = input_roles(cloud, flow_role_by_input)
            more, status_changed_now, transitions = _apply_details(
                channel, cloud, detail, roles, now, report
            )
            values.update(more)
            status_changed = status_changed or status_changed_now
        elif cloud.state != "RUNNING" and cloud.state != channel.state:
            # Not detailed this poll but no longer on air: no input, whatever we saw before.
            pipelines = pipelines_infer(channel=cloud, statistics=None, alerts=[], roles={})
            values.update(
                pipelines=pipelines,
                active_input=active_input_summary(cloud.state, pipelines),
                health=health_of(cloud.state, pipelines),
            )
        stopped = channels_db.get(cloud.id) is not None and (
            channels_db[cloud.id].state == "RUNNING" and cloud.state == "IDLE"
        )
        if channels_db.get(cloud.id) is not None and channel.state != cloud.state:
            status_changed = True
            values["changed_at"] = now
        channel = writer.upsert(LiveChannel, {"cloud_id": cloud.id}, values, channel)
        for kind, pipeline in transitions:
            _notify_transition(channel, kind, pipeline, now)
        if stopped and not _recently_stopped_by_operator(channel, now):
            _notify_transition(channel, "stopped", None, now)
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
