from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops.inventory.models import (
    ChannelStatus,
    CssStream,
    Health,
    InputRole,
    LinkFlow,
    LiveChannel,
    ServiceSync,
)
from broadcastops.inventory.services.sync import inventory_poll

pytestmark = pytest.mark.django_db(transaction=True)


def test_first_poll_brings_every_demo_resource_with_links(demo):
    report = inventory_poll()
    assert not report.skipped and report.errors == {}
    assert LiveChannel.objects.count() == 12
    kbo = LiveChannel.objects.get(name="channel-kbo-001")
    assert kbo.state == "RUNNING"
    assert kbo.active_input == InputRole.MAIN and kbo.health == Health.GREEN
    assert kbo.package_channel.name == "pkg-kbo-001"
    main = LinkFlow.objects.get(name="kbo001_m")
    assert main.role == InputRole.MAIN and main.feeds_input.cloud_id == "67439FB911259F588B73"
    assert LinkFlow.objects.get(name="kbo001_b").role == InputRole.BACKUP
    idle = LiveChannel.objects.get(name="channel-news-002")
    assert idle.health == Health.IDLE and idle.active_input == InputRole.NONE
    print(list(LiveChannel.objects.values_list("name", "state", "active_input", "health")))
    print(list(CssStream.objects.values_list("stream_name", "state")))
    print(list(LinkFlow.objects.filter(feeds_input__isnull=True).values_list("name", flat=True)))


def test_a_quiet_second_poll_writes_almost_nothing(demo):
    inventory_poll(full=True)
    history = ChannelStatus.objects.count()
    report = inventory_poll(full=True)
    assert report.changed == 0
    assert ChannelStatus.objects.count() == history
    assert report.writes == 0, report
    # Ten seconds later only the on-air channels are due; still nothing changed, nothing written.
    later = inventory_poll(now=timezone.now() + timedelta(seconds=11))
    assert later.details == 6 and later.writes == 0, later


def test_unreachable_streamlive_makes_channels_stale_not_stopped(demo, settings):
    inventory_poll()
    settings.CLOUD_MAX_RETRIES = 1
    demo.control(
        "fault",
        {"service": "mdl", "action": "DescribeStreamLiveChannels", "http_status": 500, "count": 5},
    )
    report = inventory_poll(full=True)
    assert "mdl" in report.errors
    kbo = LiveChannel.objects.get(name="channel-kbo-001")
    assert kbo.state == "RUNNING" and kbo.stale_since is not None
    assert ServiceSync.objects.get(service="mdl").stale_since is not None


def test_metrics_show_channels_by_state_and_input_and_the_poll(demo, client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    inventory_poll(full=True)
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
    assert 'broadcastops_channels{input="MAIN",state="RUNNING"} 6.0' in text
    assert 'broadcastops_channels{input="NONE",state="IDLE"} 6.0' in text
    assert "broadcastops_poll_duration_seconds" in text
    assert "broadcastops_inventory_data_age_seconds" in text


def test_idle_channels_are_spread_over_polls_on_air_ones_go_first(demo, settings):
    settings.INVENTORY_DETAILS_PER_POLL = 8
    inventory_poll(full=True)
    start = timezone.now()
    # Everything falls due at once: the 6 on-air channels plus the 2 idle ones waiting longest.
    first = inventory_poll(now=start + timedelta(seconds=200))
    assert first.details == 8
    # A tick later only the idle channels left behind are due.
    second = inventory_poll(now=start + timedelta(seconds=202))
    assert second.details == 4


def test_a_poll_that_overlaps_a_running_one_is_skipped_and_calls_no_cloud(demo):
    import threading
    import time

    demo.control("latency", {"ms": 150})  # the first poll takes a few seconds
    first: dict = {}
    runner = threading.Thread(target=lambda: first.setdefault("report", inventory_poll()))
    runner.start()
    deadline = time.monotonic() + 20  # a noisy 2-core machine: generous, ends early
    while not demo.requests() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert demo.requests(), "the first poll never reached the cloud"

    overlapping = inventory_poll()

    runner.join(60)
    assert not runner.is_alive()
    # Skipped before anything: no list call, nothing counted.
    assert overlapping.skipped and overlapping.channels == 0 and overlapping.details == 0
    assert not first["report"].skipped and first["report"].errors == {}
    demo.control("latency", {"ms": 0})
    again = inventory_poll()
    assert not again.skipped, "the lock is released when the poll ends"


def test_each_channel_is_written_as_its_details_come_in(demo, settings, monkeypatch):
    """No transaction spans the detail calls: each channel is written (in a transaction of its
    own) while the later channels' details are still being fetched, so a push refresh never
    waits for a whole poll and a failover is notified without waiting for the other channels.
    """
    import threading
    import time

    from django.db import transaction

    from broadcastops.inventory.services import sync

    inventory_poll(full=True)
    settings.INVENTORY_DETAIL_WORKERS = 1  # one channel after another
    written: list[tuple[str, bool]] = []  # (channel, inside a transaction) per channel write
    changed = threading.Condition()
    original_sync, original_details = sync.sync_channels, sync._details_of

    def sync_channels(rows, **kwargs):
        original_sync(rows, **kwargs)
        if rows.details:
            with changed:
                written.extend(
                    (c, transaction.get_connection().in_atomic_block) for c in rows.details
                )
                changed.notify_all()

    seen: list[int] = []
    deadline = time.monotonic() + 10  # bounded: the old, one-transaction poll fails here

    def details_of(gateway, channel_id, since, now):
        # Before the k-th channel's calls, the k-1 before it are written.
        with changed:
            changed.wait_for(
                lambda: len(written) >= len(seen), max(0.0, deadline - time.monotonic())
            )
            seen.append(len(written))
        return original_details(gateway, channel_id, since, now)

    monkeypatch.setattr(sync, "sync_channels", sync_channels)
    monkeypatch.setattr(sync, "_details_of", details_of)
    report = inventory_poll(now=timezone.now() + timedelta(seconds=11))
    assert report.details == 6 and report.errors == {}, report
    assert seen == [0, 1, 2, 3, 4, 5]
    assert len(written) == 6 and all(inside for _c, inside in written)
    assert report.write_s > 0 and report.details_s > 0
