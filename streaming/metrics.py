"""Prometheus metrics of live monitoring: the picture alarms, computed at scrape time.

Alarms are judged in whichever process runs a camera's producer (the web process, or a
stream worker), so the figures come from the database, not from one process's memory.
"""

from collections.abc import Iterator

from django.db.models import Count, Q
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

_OPEN = "broadcastops_picture_alarms_open"
_TOTAL = "broadcastops_picture_alarms"


class PictureAlarmCollector:
    def describe(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        # Registration calls describe(), not collect(): no query while apps load.
        yield GaugeMetricFamily(_OPEN, _OPEN)
        yield CounterMetricFamily(_TOTAL, _TOTAL)

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        from streaming.models import PictureAlarm

        rows = {
            row["kind"]: row
            for row in PictureAlarm.objects.values("kind").annotate(
                opened=Count("id"), open=Count("id", filter=Q(resolved_at__isnull=True))
            )
        }
        still_open = GaugeMetricFamily(
            _OPEN, "Picture alarms open now (frozen, black, lost feed)", labels=["kind"]
        )
        opened = CounterMetricFamily(
            _TOTAL, "Picture alarms opened since the database began", labels=["kind"]
        )
        for kind in PictureAlarm.Kind.values:
            row = rows.get(kind, {"opened": 0, "open": 0})
            still_open.add_metric([kind], row["open"])
            opened.add_metric([kind], row["opened"])
        yield still_open
        yield opened
