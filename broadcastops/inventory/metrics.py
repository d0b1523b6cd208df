"""Prometheus gauges of the inventory.

The poll runs in a Celery worker and ``/metrics`` is served by the web processes, so the
gauges are computed at scrape time from the database and the last poll's summary in the
cache, not kept in one process's memory.
"""

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from broadcastops.inventory.services.poll_types import PollReport

LAST_POLL_KEY = "inventory:last_poll"


def poll_observe(report: "PollReport") -> None:
    """Called after each poll: keep its summary where every process can read it."""
    cache.set(
        LAST_POLL_KEY,
        {"finished": time.time(), "duration_s": report.duration_s, "writes": report.writes},
        timeout=None,
    )


class InventoryCollector:
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registration calls describe(), not collect(): no query while apps load.
        for name in (
            "broadcastops_channels",
            "broadcastops_failover_events",
            "broadcastops_poll_duration_seconds",
            "broadcastops_inventory_data_age_seconds",
        ):
            yield GaugeMetricFamily(name, name)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from broadcastops.inventory.models import FailoverEvent, LiveChannel

        channels = GaugeMetricFamily(
            "broadcastops_channels",
            "StreamLive channels by state and active input",
            labels=["state", "input"],
        )
        rows = (
            LiveChannel.objects.filter(removed_at__isnull=True)
            .values("state", "active_input")
            .annotate(n=Count("id"))
        )
        for row in rows:
            channels.add_metric([row["state"], row["active_input"]], row["n"])
        yield channels
        failovers = GaugeMetricFamily(
            "broadcastops_failover_events", "Failover events recorded", labels=["kind"]
        )
        for event in FailoverEvent.objects.values("kind").annotate(n=Count("id")):
            failovers.add_metric([event["kind"]], event["n"])
        yield failovers
        last = cache.get(LAST_POLL_KEY)
        if last:
            yield GaugeMetricFamily(
                "broadcastops_poll_duration_seconds",
                "Duration of the last poll",
                last["duration_s"],
            )
            yield GaugeMetricFamily(
                "broadcastops_inventory_data_age_seconds",
                "Seconds since the last poll finished",
                time.time() - last["finished"],
            )
