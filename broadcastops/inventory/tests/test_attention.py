"""One meaning of "needs attention": each reason, the query and the reasons agreeing, and
every place that counts it (summary, rows, admin filter, API, ops_status) giving one number."""

import itertools
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcastops.i18n import Text
from broadcastops.inventory.attention import ATTENTION, channel_attention_reasons
from broadcastops.inventory.models import Health, LiveChannel
from broadcastops.inventory.selectors import channel_list, dashboard_get, status_get
from broadcastops.inventory.services.protection import channel_protection_set

pytestmark = pytest.mark.django_db

_n = itertools.count()


def _channel(**fields) -> LiveChannel:
    n = next(_n)
    values = {
        "cloud_id": f"CH{n}",
        "name": f"channel-{n:03d}",
        "state": "RUNNING",
        "health": Health.GREEN,
        "input_protected": True,
        **fields,
    }
    return LiveChannel.objects.create(**values)


def _reasons(channel) -> list[str]:
    return [r.render("en") for r in channel_attention_reasons(channel)]


def test_each_reason_a_channel_needs_attention():
    now = timezone.now()
    assert _reasons(_channel(health=Health.AMBER)) == ["Health: Degraded"]
    assert _reasons(_channel(health=Health.RED)) == ["Health: Off air"]
    stale = _reasons(_channel(stale_since=now))
    assert len(stale) == 1 and stale[0].startswith("Data stale since ")
    # On air (running, or starting) without input protection: the incident.
    assert _reasons(_channel(input_protected=False)) == ["On air without input protection"]
    assert "On air without input protection" in _reasons(
        _channel(state="STARTING", health=Health.AMBER, input_protected=False)
    )
    # Not on air, never audited, or protected and healthy: nothing to do now.
    assert _reasons(_channel(state="IDLE", health=Health.IDLE, input_protected=False)) == []
    assert _reasons(_channel(input_protected=None)) == []
    assert _reasons(_channel()) == []
    url = "https://ops.example.com/api/v1/tencent/events"
    missing = _reasons(_channel(notify_url=url, push_missing_since=now))
    assert len(missing) == 1 and missing[0].startswith("Push callbacks configured, but none")
    assert url in missing[0]
    idle = _channel(state="IDLE", health=Health.IDLE, notify_url=url, push_missing_since=now)
    assert _reasons(idle) == []
    both = _reasons(_channel(health=Health.RED, input_protected=False))
    assert both == ["Health: Off air", "On air without input protection"]


def test_the_query_and_the_reasons_agree_on_every_combination():
    now = timezone.now()
    for state, health, stale, protected, missing in itertools.product(
        ("RUNNING", "STARTING", "STOPPING", "IDLE", "SOMETHING_NEW"),
        list(Health),
        (None, now),
        (True, False, None),
        (None, now),
    ):
        _channel(
            state=state,
            health=health,
            stale_since=stale,
            input_protected=protected,
            push_missing_since=missing,
        )
    by_reasons = {c.pk for c in LiveChannel.objects.all() if channel_attention_reasons(c)}
    assert by_reasons == set(LiveChannel.objects.filter(ATTENTION).values_list("pk", flat=True))
    # And the complement: a nullable field must not fall through the NOT.
    assert set(LiveChannel.objects.exclude(ATTENTION).values_list("pk", flat=True)) == (
        set(LiveChannel.objects.values_list("pk", flat=True)) - by_reasons
    )
    assert by_reasons == {c.pk for c in LiveChannel.objects.all() if c.needs_attention}


@pytest.fixture
def mixed():
    """Two of each kind: fine, degraded, stale, unprotected on air, unprotected idle."""
    now = timezone.now()
    for _ in range(2):
        _channel()
        _channel(health=Health.AMBER)
        _channel(stale_since=now)
        _channel(input_protected=False)
        _channel(state="IDLE", health=Health.IDLE, input_protected=False)


def test_every_place_counts_the_same_channels(mixed, viewer):
    expected = set(LiveChannel.objects.filter(ATTENTION).values_list("name", flat=True))
    assert len(expected) == 6

    report = status_get()
    assert report.summary["attention"] == 6
    assert {d.channel_name for d in report.channels if d.needs_attention} == expected
    # Worst first: every channel needing attention comes before the others.
    flags = [d.needs_attention for d in report.channels]
    assert flags == sorted(flags, reverse=True)

    dashboard = dashboard_get()
    assert dashboard["summary"]["attention"] == 6
    assert {c["name"] for c in dashboard["channels"] if c["attention"]} == expected
    assert {c.name for c in channel_list(attention=True)} == expected

    client = Client()
    client.force_login(viewer)
    api = client.get("/api/v1/channels/?attention=true&limit=100").json()
    assert {c["name"] for c in api["results"]} == expected
    api_not = client.get("/api/v1/channels/?attention=false&limit=100").json()
    assert api_not["count"] == LiveChannel.objects.count() - 6

    page = client.get("/admin/inventory/livechannel/?attention=yes").content.decode()
    assert set(re.findall(r"channel-\d{3}", page)) == expected

    out = StringIO()
    call_command("ops_status", "--language", "en", stdout=out)
    assert "Needing attention: 6;" in out.getvalue()
    assert out.getvalue().count("Needs attention: ") == 6


def test_protection_is_written_only_when_it_changes_and_nudges_the_dashboards(
    django_capture_on_commit_callbacks,
):
    channel = _channel(input_protected=None)
    reason = Text("failover off")
    with django_capture_on_commit_callbacks() as callbacks:
        assert channel_protection_set(channel=channel, protected=False, reason=reason)
    assert len(callbacks) == 1  # the dashboards hear of it after the commit
    channel.refresh_from_db()
    assert channel.input_protected is False and channel.needs_attention
    assert channel.input_protection_reason == {"text": "failover off"}

    with CaptureQueriesContext(connection) as queries:
        assert not channel_protection_set(channel=channel, protected=False, reason=reason)
    assert len(queries) == 0

    assert channel_protection_set(channel=channel, protected=True, reason=Text("paired"))
    channel.refresh_from_db()
    assert channel.input_protected is True and not channel.needs_attention
