"""Polling the four Tencent services into the inventory.

One poll lists each service once, then fetches details for the channels that are due, in
parallel inside the gateway's per-action rate limits: on-air or at-risk channels every
``INVENTORY_ON_AIR_INTERVAL_S``, idle ones every ``INVENTORY_IDLE_INTERVAL_S``, the CSS online
list at most every ``INVENTORY_CSS_INTERVAL_S``. A poll that finds another one running skips
its tick instead of piling up. No transaction is open during a cloud call: what the lists say
is written in one short transaction, then each detailed channel in one of its own as its
details come in; only rows that changed are written.
"""

import logging
import time
import uuid
from collections.abc import Callable, Iterator
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
    map_parallel_completed,
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


def _details_of(
    gateway: TencentGateway, channel_id: str, since: datetime | None, now: datetime
) -> ChannelDetails:
    statistics, alerts, logs = (call() for call in _detail_calls(gateway, channel_id, since, now))
    return ChannelDetails(statistics, alerts, logs)


def _fetch_details(
    gateway: TencentGateway, channel_ids: list[str], since: dict[str, datetime], now: datetime
) -> Iterator[tuple[str, ChannelDetails]]:
    """Each due channel's details, as they come in (the first ones while the limiter still
    paces the later ones); a channel whose calls failed gets ``ChannelDetails(error=...)``."""
    for channel_id, outcome in map_parallel_completed(
        lambda cid: _details_of(gateway, cid, since.get(cid), now),
        channel_ids,
        max_workers=settings.INVENTORY_DETAIL_WORKERS,
    ):
        if isinstance(outcome, CloudError):
            logger.warning("Inventory: details of channel %s failed: %s", channel_id, outcome)
            outcome = ChannelDetails(None, [], [], error=str(outcome))
        yield channel_id, outcome


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


class _WriteClock:
    """Time spent in the write transactions, and the longest wait to open one (on SQLite the
    wait for the database's write lock; on PostgreSQL for the row lock)."""

    def __init__(self, report: PollReport) -> None:
        self.report = report

    def channel(self, channel_id: str) -> LiveChannel | None:
        """The channel's row read again inside the open transaction (locked on PostgreSQL),
        so what a push refresh wrote meanwhile is the "before" of this write."""
        return LiveChannel.objects.select_for_update().filter(cloud_id=channel_id).first()

    def begin(self) -> float:
        return time.monotonic()

    def locked(self, asked: float) -> float:
        now = time.monotonic()
        self.report.lock_wait_s = max(self.report.lock_wait_s, now - asked)
        return now

    def done(self, asked: float) -> None:
        self.report.write_s += time.monotonic() - asked


def _poll(*, now: datetime, full: bool, started: float) -> PollReport:
    """List, write what the lists say in one short transaction, then write each detailed
    channel in a transaction of its own as soon as its details are in. No transaction is open
    during a cloud call, and none holds more than one detailed channel, so a push callback or
    a channel refresh never waits for a whole poll's writes (on SQLite a transaction holds the
    database's write lock), and a failover the poll finds is notified without waiting for the
    channels detailed after it."""
    report = PollReport(started_at=now)
    clock = _WriteClock(report)
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
    report.list_s = time.monotonic() - started

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
    report.details = len(due)
    due_set = set(due)

    # 1. What the lists say: services, inputs, flows, packages, CSS, and the channels that are
    # not detailed this poll (their listed fields; the removed ones).
    writer = Writer()
    asked = clock.begin()
    with transaction.atomic():
        clock.locked(asked)
        for service in CloudService.values:
            if service in listed or service in report.errors:
                writer.writes += service_state(service, report.errors.get(service), now)
        inputs_db = sync_inputs(listed, cloud_inputs, writer, now)
        flows_db = sync_flows(listed, inputs_db, writer, now)
        packages = sync_packages(listed, writer, now)
        css = sync_css(listed, writer, now)
        sync_channels(
            ChannelSync(
                listed=listed,
                cloud_channels=[c for c in cloud_channels if c.id not in due_set],
                channels_db={cid: c for cid, c in channels_db.items() if cid not in due_set},
                details={},
                flows=flows_db,
                packages=packages,
                css=css,
            ),
            writer=writer,
            now=now,
            report=report,
        )
    clock.done(asked)

    # 2. Each due channel as its details come in, in its own transaction.
    by_id = {c.id: c for c in cloud_channels}
    synced: list[str] = []
    for channel_id, detail in _fetch_details(gateway, due, since, now):
        asked = clock.begin()
        with transaction.atomic():
            clock.locked(asked)
            channel = clock.channel(channel_id)
            sync_channels(
                ChannelSync(
                    listed=listed,
                    cloud_channels=[by_id[channel_id]],
                    channels_db={channel_id: channel} if channel is not None else {},
                    details={channel_id: detail},
                    flows=flows_db,
                    packages=packages,
                    css=css,
                ),
                writer=writer,
                now=now,
                report=report,
            )
        clock.done(asked)
        if not detail.error:
            synced.append(channel_id)
    report.details_s = time.monotonic() - started - report.list_s

    # Read again: a push refresh may have stored its channel's time meanwhile.
    detail_synced = cache.get(DETAIL_KEY) or {}
    detail_synced.update({cid: now.timestamp() for cid in synced})
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
        "Inventory poll: %s channels, %s detailed, %s changed, %s writes, %s events in %.2f s "
        "(lists %.2f s, details %.2f s, in write transactions %.2f s, longest lock wait %.2f s)",
        report.channels,
        report.details,
        report.changed,
        report.writes,
        report.events,
        report.duration_s,
        report.list_s,
        report.details_s,
        report.write_s,
        report.lock_wait_s,
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
    The transaction touches this channel alone: the flows feeding its inputs, the package
    channels and CSS streams it may link to are read before it. A failed cloud call changes
    nothing: the next poll is the safety net.
    """
    now = now or timezone.now()
    started = time.monotonic()
    report = PollReport(started_at=now, channels=1)
    clock = _WriteClock(report)
    gateway = tencent_push_gateway()
    detail_synced = cache.get(DETAIL_KEY) or {}
    last = detail_synced.get(channel_id)
    since = datetime.fromtimestamp(last, tz=UTC) if last else None
    calls: list[DetailCall] = [
        lambda: gateway.live_channel_get(channel_id=channel_id),
        *_detail_calls(gateway, channel_id, since, now),
    ]
    outcomes = map_parallel(lambda call: call(), calls, max_workers=len(calls))
    report.details_s = time.monotonic() - started
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
    attached = [a.id for a in cloud.attached_inputs]
    flows = LinkFlow.objects.select_related("feeds_input").filter(
        feeds_input__cloud_id__in=attached
    )
    packages = sync_packages({}, writer, now)
    css = sync_css({}, writer, now)
    asked = clock.begin()
    with transaction.atomic():
        clock.locked(asked)
        channel = clock.channel(channel_id)
        if channel is None or channel.removed_at is not None:
            return report
        rows = ChannelSync(
            listed={CloudService.STREAMLIVE: ([cloud], [])},
            cloud_channels=[cloud],
            channels_db={channel_id: channel},
            details=details,
            flows={f.cloud_id: f for f in flows},
            packages=packages,
            css=css,
        )
        sync_channels(rows, writer=writer, now=now, report=report)
    clock.done(asked)
    # The poll's schedule for this channel is left as it is: a refresh between two polls
    # must not make the next poll skip the channel (that stretched its refresh gap to 20-30 s
    # when a tick was skipped too); the logs' window overlaps, and an event is stored once.
    if report.changed or report.events:
        transaction.on_commit(dashboard_nudge)
    report.details = 1
    report.writes = writer.writes
    report.duration_s = time.monotonic() - started
    logger.info(
        "Inventory refresh of %s: %s changed, %s events in %.2f s (calls %.2f s, lock wait "
        "%.2f s, write %.2f s)",
        channel_id,
        report.changed,
        report.events,
        report.duration_s,
        report.details_s,
        report.lock_wait_s,
        report.write_s,
    )
    return report
