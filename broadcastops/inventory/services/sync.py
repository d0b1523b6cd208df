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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from broadcastops import registry
from broadcastops.cloud import types
from broadcastops.cloud.errors import CloudError
from broadcastops.cloud.tencent import (
    TencentGateway,
    map_parallel,
    tencent_gateway,
    tencent_push_gateway,
)
from broadcastops.inventory import metrics
from broadcastops.inventory.models import (
    CloudService,
    Health,
    LinkFlow,
    LiveChannel,
    ServiceSync,
)
from broadcastops.inventory.services.dashboard import dashboard_nudge
from broadcastops.inventory.services.poll_types import (
    ChannelDetails,
    ChannelSync,
    Listed,
    PollReport,
)
from broadcastops.inventory.services.rows import (
    Writer,
    service_state,
    sync_channels,
    sync_css,
    sync_flows,
    sync_inputs,
    sync_packages,
)

DetailCall = Callable[[], Any]

logger = logging.getLogger(__name__)

LOCK_KEY = "inventory:poll:lock"
DETAIL_KEY = "inventory:detail_synced"  # {channel id: unix time of its last details}
SUCCESS_KEY = "inventory:last_success"  # {service: unix time of its last good list}


def last_success() -> dict[str, datetime]:
    """When each service last answered a list call (for the data's age on the dashboard)."""
    raw = cache.get(SUCCESS_KEY) or {}
    return {k: datetime.fromtimestamp(v, tz=UTC) for k, v in raw.items()}


# --- listing ------------------------------------------------------------------------------


def _list_all(gateway: TencentGateway, want_css: bool) -> tuple[Listed, dict[str, str]]:
    """Call the list actions side by side; a failed service is reported, not raised."""
    calls: dict[str, Callable[[], Any]] = {
        CloudService.STREAMLIVE: lambda: (gateway.live_channel_list(), gateway.live_input_list()),
        CloudService.STREAMLINK: gateway.link_flow_list,
        CloudService.STREAMPACKAGE: gateway.package_channel_list,
    }
    if want_css:
        calls[CloudService.CSS] = gateway.css_stream_online_list
    services = list(calls)
    outcomes = map_parallel(lambda service: calls[service](), services, max_workers=len(calls))
    results: Listed = {}
    errors: dict[str, str] = {}
    for service, outcome in zip(services, outcomes, strict=True):
        if isinstance(outcome, CloudError):
            logger.warning("Inventory: %s list failed: %s", service, outcome)
            errors[service] = str(outcome)
        else:
            results[service] = outcome
    return results, errors


def _detail_calls(
    gateway: TencentGateway, channel_id: str, since: datetime | None, now: datetime
) -> list[DetailCall]:
    """A channel's three detail calls: statistics, alerts, and the logs since its last
    details (or the last hour)."""
    window = timedelta(seconds=settings.INVENTORY_STATS_WINDOW_S)
    start = max((since or now - timedelta(hours=1)) - window, now - timedelta(days=6))
    return [
        lambda: gateway.live_channel_input_statistics(
            channel_id=channel_id, start=now - window, end=now, period="5s"
        ),
        lambda: gateway.live_channel_alert_list(channel_id=channel_id),
        lambda: gateway.live_channel_log_list(channel_id=channel_id, start=start, end=now),
    ]


def _fetch_details(
    gateway: TencentGateway, channel_ids: list[str], since: dict[str, datetime], now: datetime
) -> dict[str, ChannelDetails]:
    def one(channel_id: str) -> ChannelDetails:
        statistics, alerts, logs = (
            call() for call in _detail_calls(gateway, channel_id, since.get(channel_id), now)
        )
        return ChannelDetails(statistics, alerts, logs)

    outcomes = map_parallel(one, channel_ids, max_workers=settings.INVENTORY_DETAIL_WORKERS)
    details = {}
    for channel_id, outcome in zip(channel_ids, outcomes, strict=True):
        if isinstance(outcome, CloudError):
            logger.warning("Inventory: details of channel %s failed: %s", channel_id, outcome)
            outcome = ChannelDetails(None, [], [], error=str(outcome))
        details[channel_id] = outcome
    return details


def _due(channel: LiveChannel | None, cloud_state: str, last: float | None, now: datetime) -> bool:
    if channel is None or last is None:
        return True
    at_risk = cloud_state != LiveChannel.State.IDLE or channel.health not in (
        Health.IDLE,
        Health.GREEN,
    )
    interval = (
        settings.INVENTORY_ON_AIR_INTERVAL_S if at_risk else settings.INVENTORY_IDLE_INTERVAL_S
    )
    # A little slack so a 10 s beat does not skip a channel refreshed 9.9 s ago.
    return bool(now.timestamp() - last >= interval * 0.9)


def _due_channels(
    cloud_channels: list[types.LiveChannel],
    channels_db: dict[str, LiveChannel],
    detail_synced: dict[str, float],
    now: datetime,
    full: bool,
) -> list[str]:
    """The channels to detail in this poll: every due on-air or at-risk channel, then the
    longest-waiting due idle ones up to ``INVENTORY_DETAILS_PER_POLL``. The budget keeps
    every poll well inside its tick (a poll that runs long delays the on-air refresh) and
    spreads idle channels over several polls instead of letting them all fall due at once."""
    if full:
        return [c.id for c in cloud_channels]
    urgent: list[tuple[float, str]] = []
    idle: list[tuple[float, str]] = []
    for cloud in cloud_channels:
        channel = channels_db.get(cloud.id)
        last = detail_synced.get(cloud.id)
        if not _due(channel, cloud.state, last, now):
            continue
        at_risk = (
            cloud.state != LiveChannel.State.IDLE
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

    writer = Writer()
    with transaction.atomic():
        for service in CloudService.values:
            if service in listed or service in report.errors:
                writer.writes += service_state(service, report.errors.get(service), now)
        inputs_db = sync_inputs(listed, cloud_inputs, writer, now)
        flows_db = sync_flows(listed, inputs_db, writer, now)
        packages = sync_packages(listed, writer, now)
        css = sync_css(listed, writer, now)
        rows = ChannelSync(
            listed=listed,
            cloud_channels=cloud_channels,
            channels_db=channels_db,
            details=details,
            flows=flows_db,
            packages=packages,
            css=css,
        )
        sync_channels(rows, writer=writer, now=now, report=report)
    detail_synced.update({cid: now.timestamp() for cid, d in details.items() if not d.error})
    cache.set(DETAIL_KEY, detail_synced, timeout=None)
    successes = cache.get(SUCCESS_KEY) or {}
    successes.update({service: now.timestamp() for service in listed})
    cache.set(SUCCESS_KEY, successes, timeout=None)
    if report.changed or report.events:
        transaction.on_commit(dashboard_nudge)
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
    for fn in registry.AFTER_POLL.all():  # failover's audit, registered in its ready()
        try:
            fn(report)
        except Exception:  # a hook's bug must never break polling
            logger.exception("Inventory poll: after-poll hook %s failed", fn)
    return report


def channel_refresh(*, channel_id: str, now: datetime | None = None) -> PollReport:
    """Refresh one channel now (a push callback's follow-up), beside the poll.

    The channel's description and its three detail calls go out side by side, in the push
    lane of the gateway's limiter (``tencent_push_gateway``: its own share of each action's
    quota, so a refresh never queues behind a running poll, and both together stay inside
    the cloud's limit). The channel is then written exactly as a poll writes it (events,
    status history, notifications), from its row read again under a lock inside the write
    transaction, so a poll that wrote it meanwhile is seen and nothing is recorded twice.
    A failed cloud call changes nothing: the next poll is the safety net.
    """
    now = now or timezone.now()
    started = time.monotonic()
    report = PollReport(started_at=now, channels=1)
    gateway = tencent_push_gateway()
    detail_synced = cache.get(DETAIL_KEY) or {}
    last = detail_synced.get(channel_id)
    since = datetime.fromtimestamp(last, tz=UTC) if last else None
    calls: list[DetailCall] = [
        lambda: gateway.live_channel_get(channel_id=channel_id),
        *_detail_calls(gateway, channel_id, since, now),
    ]
    outcomes = map_parallel(lambda call: call(), calls, max_workers=len(calls))
    answers: list[Any] = []
    for outcome in outcomes:
        if isinstance(outcome, CloudError):
            logger.warning("Inventory: refresh of channel %s failed: %s", channel_id, outcome)
            report.errors[CloudService.STREAMLIVE] = str(outcome)
            return report
        answers.append(outcome)
    cloud: types.LiveChannel = answers[0]
    details = {channel_id: ChannelDetails(*answers[1:])}
    writer = Writer()
    with transaction.atomic():
        channel = LiveChannel.objects.select_for_update().filter(cloud_id=channel_id).first()
        if channel is None or channel.removed_at is not None:
            return report
        flows = LinkFlow.objects.select_related("feeds_input")
        rows = ChannelSync(
            listed={CloudService.STREAMLIVE: ([cloud], [])},
            cloud_channels=[cloud],
            channels_db={channel_id: channel},
            details=details,
            flows={f.cloud_id: f for f in flows},
            packages=sync_packages({}, writer, now),
            css=sync_css({}, writer, now),
        )
        sync_channels(rows, writer=writer, now=now, report=report)
    detail_synced = cache.get(DETAIL_KEY) or {}
    detail_synced[channel_id] = now.timestamp()
    cache.set(DETAIL_KEY, detail_synced, timeout=None)
    if report.changed or report.events:
        transaction.on_commit(dashboard_nudge)
    report.details = 1
    report.writes = writer.writes
    report.duration_s = time.monotonic() - started
    logger.info(
        "Inventory refresh of %s: %s changed, %s events in %.2f s",
        channel_id,
        report.changed,
        report.events,
        report.duration_s,
    )
    return report
