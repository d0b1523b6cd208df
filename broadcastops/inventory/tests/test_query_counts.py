"""The dashboard, the channel and status APIs and the admin channel list cost a fixed number of
queries, whatever the number of channels and flows (pinned at 10 and at 100 channels)."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcastops.inventory.consumers import dashboard_texts
from broadcastops.inventory.models import (
    CloudService,
    CssStream,
    FailoverEvent,
    Health,
    InputRole,
    LinkFlow,
    LiveChannel,
    LiveInput,
    PackageChannel,
    ServiceSync,
)

pytestmark = pytest.mark.django_db

SIZES = (10, 100)


def _inventory(n: int) -> None:
    """``n`` channels as a poll leaves them: two inputs, a MAIN and a BACKUP flow, a package
    channel, a CSS stream, a failover audit and a failover event each; some need attention."""
    for model in (LiveChannel, LinkFlow, LiveInput, PackageChannel, CssStream, ServiceSync):
        model.objects.all().delete()
    now = timezone.now()
    for service in CloudService.values:
        ServiceSync.objects.create(service=service, last_success_at=now)
    inputs = LiveInput.objects.bulk_create(
        LiveInput(cloud_id=f"IN{i:04d}{side}", name=f"in-{i}-{side}", input_type="RTMP_PUSH")
        for i in range(n)
        for side in "mb"
    )
    LinkFlow.objects.bulk_create(
        LinkFlow(
            cloud_id=f"FL{i:04d}{side}",
            name=f"flow{i:03d}_{side}",
            state="RUNNING",
            role=InputRole.MAIN if side == "m" else InputRole.BACKUP,
            feeds_input=inputs[2 * i + (side == "b")],
        )
        for i in range(n)
        for side in "mb"
    )
    packages = PackageChannel.objects.bulk_create(
        PackageChannel(cloud_id=f"PK{i:04d}", name=f"pkg-{i}") for i in range(n)
    )
    streams = CssStream.objects.bulk_create(
        CssStream(domain="push.example", stream_name=f"s{i}", state=CssStream.State.ACTIVE)
        for i in range(n)
    )
    health = [Health.GREEN, Health.AMBER, Health.RED, Health.IDLE]
    channels = LiveChannel.objects.bulk_create(
        LiveChannel(
            cloud_id=f"CH{i:04d}",
            name=f"channel-{i:03d}",
            state="IDLE" if health[i % 4] == Health.IDLE else "RUNNING",
            health=health[i % 4],
            active_input=InputRole.MAIN,
            attached_inputs=[
                {"id": f"IN{i:04d}m", "failover": None},
                {"id": f"IN{i:04d}b", "failover": None},
            ],
            pipelines=[{"pipeline": 0, "input_id": f"IN{i:04d}m", "role": "MAIN", "alerts": []}],
            package_channel=packages[i],
            css_stream=streams[i],
            input_protected=i % 3 != 0,
            input_protection_reason={"text": "failover off"} if i % 3 == 0 else {},
            stale_since=now if i % 10 == 9 else None,
        )
        for i in range(n)
    )
    # The failover app's one-to-one row (the core names no feature app: found through the
    # registry, as the admin list finds it).
    failover_audit = apps.get_model("failover", "FailoverAudit")
    failover_audit.objects.bulk_create(
        failover_audit(
            channel=c,
            verdict="OK" if c.input_protected else "OFF",
            reason={"text": "x"},
            audited_at=now,
            changed_at=now,
        )
        for c in channels
    )
    FailoverEvent.objects.bulk_create(
        FailoverEvent(
            channel=c,
            pipeline=0,
            kind=FailoverEvent.Kind.FAILOVER,
            source=FailoverEvent.Source.LOG,
            occurred_at=now - timedelta(minutes=5),
        )
        for c in channels
    )


def _count(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_the_dashboard_reads_in_five_queries_at_10_and_at_100_channels():
    counts = {}
    for n in SIZES:
        _inventory(n)
        counts[n] = _count(lambda: dashboard_texts(languages=["en", "ko", "zh-hant"]))
    # channels (+ package, CSS), flows (+ input), failovers of 24 h, CSS counts, services.
    assert counts == {10: 5, 100: 5}


@pytest.mark.parametrize(
    ("role", "url", "expected"),
    [
        # session, user, groups (role), count, the page (with packages and CSS streams).
        ("viewer", "/api/v1/channels/?limit=500", 5),
        # session, user, groups (role), then the five reads of the status.
        ("viewer", "/api/v1/status/", 8),
        # session, user, permissions (twice), the filtered and the full count, groups (role),
        # the page (each row with its package, CSS stream and failover audit), the state filter.
        ("operator", "/admin/inventory/livechannel/?attention=yes", 9),
    ],
)
def test_the_api_and_the_admin_list_are_fixed(request, role, url, expected):
    client = Client()
    client.force_login(request.getfixturevalue(role))

    def call():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="ko")
        assert response.status_code == 200

    counts = {}
    for n in SIZES:
        _inventory(n)
        assert LiveChannel.objects.count() == n
        call()  # warm: the session, the content types, the permission cache
        counts[n] = _count(call)
    assert counts == {10: expected, 100: expected}
