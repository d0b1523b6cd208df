"""StreamLive push callbacks: the endpoint's checks, and the refresh a callback triggers."""

import hashlib
import json
import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import OperationalError, connection

from broadcastops.cloud.simulator.server import load_scenario
from broadcastops.errors import Conflict
from broadcastops.inventory.models import FailoverEvent, InputRole, LiveChannel, PushEvent
from broadcastops.inventory.services import push
from broadcastops.inventory.services.sync import channel_refresh, inventory_poll
from broadcastops.notify.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/tencent/events"
KEY = "test-notify-key-6f1e"
KBO = "69220B6482B6EAF453CC"  # channel-kbo-001: MAIN paired with BACKUP, 3000 ms
KBO_MAIN = "67439FB911259F588B73"


def callback(
    channel_id=KBO, input_id=KBO_MAIN, pipeline=0, event_type=330, t=None, key=KEY, **extra
):
    t = int(time.time()) + 600 if t is None else t
    body = {
        "appid": 1250000000,
        "channel_id": channel_id,
        "event_type": event_type,
        "input_id": input_id,
        "interface": "general_callback",
        "pipelie": pipeline,  # sic: the documented spelling
        "sign": hashlib.md5(f"{key}{t}".encode(), usedforsecurity=False).hexdigest(),
        "stream_id": "",
        "t": t,
    }
    body.update(extra)
    return body


@pytest.fixture
def refreshes(monkeypatch):
    """The refresh tasks enqueued (channel id, countdown), instead of a broker."""
    from broadcastops.inventory import tasks

    queued = []
    monkeypatch.setattr(
        tasks.channel_refresh_task, "delay", lambda channel_id: queued.append((channel_id, 0))
    )
    monkeypatch.setattr(
        tasks.channel_refresh_task,
        "apply_async",
        lambda args, countdown: queued.append((args[0], countdown)),
    )
    return queued


@pytest.fixture
def keyed(settings):
    settings.TENCENT_EVENTS_NOTIFY_KEY = KEY
    settings.TENCENT_EVENTS_NOTIFY_KEYS = {}
    return settings


@pytest.fixture
def known(demo, keyed):
    inventory_poll()
    return demo


def post(api_client, body, **kwargs):
    return api_client.post(URL, data=json.dumps(body), content_type="application/json", **kwargs)


def test_a_valid_callback_is_stored_once_and_refreshes_that_channel(
    known, api_client, refreshes, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client, callback(pipeline=1))
    assert response.status_code == 200, response.content
    assert response.json()["code"] == 0
    event = PushEvent.objects.get()
    assert (event.channel.cloud_id, event.input_id, event.pipeline, event.event_type) == (
        KBO,
        KBO_MAIN,
        1,
        330,
    )
    # At once; when the 3000 ms LossThreshold has passed; one statistics sample later.
    assert refreshes == [(KBO, 0), (KBO, 3.5), (KBO, 9.0)]
    # The twin callback of the other pipeline, a moment later, shares those refreshes.
    with django_capture_on_commit_callbacks(execute=True):
        assert post(api_client, callback(pipeline=0)).status_code == 200
    assert len(refreshes) == 3 and PushEvent.objects.count() == 2
    assert KEY not in caplog.text and KEY not in response.content.decode()


def test_a_badly_signed_callback_is_refused(known, api_client, refreshes):
    body = callback(key="not-the-key")
    response = post(api_client, body)
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert "signature" in response.json()["message"]
    tampered = callback()
    tampered["t"] += 1  # the signature covers t
    assert post(api_client, tampered).json()["code"] == "bad_signature"
    assert not PushEvent.objects.exists() and not refreshes


def test_another_channel_key_from_the_environment_is_used(known, api_client, keyed, refreshes):
    keyed.TENCENT_EVENTS_NOTIFY_KEYS = {KBO: "kbo-own-key"}
    assert post(api_client, callback()).json()["code"] == "bad_signature"
    assert post(api_client, callback(key="kbo-own-key")).status_code == 200


def test_a_stale_callback_and_one_from_the_far_future_are_refused(known, api_client, refreshes):
    expired = post(api_client, callback(t=int(time.time()) - 120))
    assert expired.status_code == 403 and expired.json()["code"] == "callback_expired"
    ahead = post(api_client, callback(t=int(time.time()) + 3600))
    assert ahead.status_code == 403 and ahead.json()["code"] == "callback_expired"
    assert not PushEvent.objects.exists()


def test_a_replayed_callback_is_refused(known, api_client, refreshes):
    body = callback()
    assert post(api_client, body).status_code == 200
    again = post(api_client, body)
    assert again.status_code == 409
    assert again.json()["code"] == "callback_replayed"
    assert PushEvent.objects.count() == 1


def test_concurrent_replays_store_one_row(known, keyed):
    body = callback()
    barrier = threading.Barrier(6)
    outcomes = []

    def accept():
        barrier.wait(timeout=30)
        try:
            for _attempt in range(50):
                try:
                    push.push_event_accept(body=body)
                    outcomes.append("ok")
                except Conflict:
                    outcomes.append("replay")
                except OperationalError as exc:
                    # The in-memory SQLite of the default test run locks whole tables between
                    # threads (PostgreSQL, the scaled run, does not): try again.
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.05)
                    continue
                break
        except Exception as exc:  # reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ok"] + ["replay"] * 5
    assert PushEvent.objects.count() == 1


def test_an_unknown_channel_is_refused(known, api_client, refreshes):
    response = post(api_client, callback(channel_id="6000000000000000DEAD"))
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_channel"


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        json.dumps([1, 2]),
        json.dumps({"channel_id": KBO}),
        json.dumps(callback(event_type=331)),
        json.dumps(callback(pipeline=2)),
        json.dumps(callback(t="soon")),
    ],
)
def test_malformed_callbacks_get_a_clear_400(known, api_client, body, refreshes):
    response = api_client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"code", "message", "detail"}
    assert not PushEvent.objects.exists()


def test_without_a_key_the_console_refuses_callbacks(known, api_client, keyed):
    keyed.TENCENT_EVENTS_NOTIFY_KEY = ""
    response = post(api_client, callback())
    assert response.status_code == 403 and response.json()["code"] == "no_callback_key"


def test_the_route_has_a_small_body_limit(settings):
    assert settings.REQUEST_BODY_ROUTES["tencent-events"]["max_bytes"] <= 4096


def test_anonymous_callback_endpoint_reads_no_user(known, api_client, refreshes):
    # The signature is the authentication: no session or token is looked at.
    response = post(api_client, callback(), HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 200


# --- the refresh ---------------------------------------------------------------------------
def sim_now(sim) -> datetime:
    return datetime.fromtimestamp(sim.sim.tencent.now(), tz=UTC)


def test_the_refresh_records_the_switch_once_with_the_logs_and_the_poll(
    known, api_client, refreshes, slack
):
    kbo = LiveChannel.objects.get(cloud_id=KBO)
    assert kbo.active_input == InputRole.MAIN
    known.control("signal", {"input_id": KBO_MAIN, "pipeline": None, "present": False})
    assert post(api_client, callback(pipeline=0)).status_code == 200
    assert post(api_client, callback(pipeline=1)).status_code == 200
    before = len(known.requests("mdl"))
    channel_refresh(channel_id=KBO, now=sim_now(known))
    # The refresh asked about this channel alone: its description and three detail calls.
    asked = known.requests("mdl")[before:]
    assert sorted(e["action"] for e in asked) == [
        "DescribeStreamLiveChannel",
        "DescribeStreamLiveChannelAlerts",
        "DescribeStreamLiveChannelInputStatistics",
        "DescribeStreamLiveChannelLogs",
    ]
    assert {(e["params"] or {}).get("ChannelId") or e["params"]["Id"] for e in asked} == {KBO}
    # The LossThreshold passes (simulated clock): the cloud switches and logs it.
    known.control("clock", {"advance_s": 3.5})
    report = channel_refresh(channel_id=KBO, now=sim_now(known))
    assert report.events >= 2
    failovers = FailoverEvent.objects.filter(channel=kbo, kind="failover")
    assert failovers.count() == 2  # one per pipeline
    assert Notification.objects.filter(subject=KBO, event="channel.failover").count() == 1
    # A statistics sample later the refresh sees BACKUP: the observation merges into the log.
    known.control("clock", {"advance_s": 5.5})
    channel_refresh(channel_id=KBO, now=sim_now(known))
    kbo.refresh_from_db()
    assert kbo.active_input == InputRole.BACKUP, kbo.pipelines
    assert failovers.count() == 2
    # The poll sees the same switch in the same statistics and logs: still stored once.
    inventory_poll(now=sim_now(known), full=True)
    assert failovers.count() == 2
    assert Notification.objects.filter(subject=KBO, event="channel.failover").count() == 1
    assert kbo.push_missing_since is None


def test_the_refresh_goes_through_the_limiter_in_its_own_lane(known, monkeypatch):
    from broadcastops.cloud.ratelimit import RateLimiter

    keys = []
    original = RateLimiter.acquire

    def spy(self, key, limit, **kwargs):
        keys.append((key, limit.rate_per_s))
        return original(self, key, limit, **kwargs)

    monkeypatch.setattr(RateLimiter, "acquire", spy)
    channel_refresh(channel_id=KBO)
    assert keys and all(key.endswith(":push") for key, _ in keys)
    assert {rate for _, rate in keys} == {5.0}  # a quarter of the 20/s quota


def test_a_failed_refresh_changes_nothing(known, monkeypatch):
    known.control("deny", {"actions": ["DescribeStreamLiveChannelLogs"]})
    kbo = LiveChannel.objects.get(cloud_id=KBO)
    report = channel_refresh(channel_id=KBO)
    assert report.errors and report.changed == 0
    assert LiveChannel.objects.get(cloud_id=KBO).pipelines == kbo.pipelines


def test_a_switch_without_callbacks_on_a_configured_channel_is_reported(
    cloudsim, keyed, api_client, refreshes
):
    scenario = load_scenario(None)
    for channel in scenario["mdl"]["channels"]:
        if channel["Id"] == KBO:
            push_settings = {"NotifyUrl": "https://ops.example.com" + URL, "NotifyKey": KEY}
            channel["EventNotifySettings"] = {"PushEventSettings": push_settings}
    cloudsim.load(scenario)
    inventory_poll()
    kbo = LiveChannel.objects.get(cloud_id=KBO)
    assert kbo.notify_url == "https://ops.example.com" + URL
    stored = json.dumps(
        list(LiveChannel.objects.values()), default=str
    )  # the NotifyKey is never kept
    assert KEY not in stored
    cloudsim.control("signal", {"input_id": KBO_MAIN, "pipeline": None, "present": False})
    cloudsim.control("clock", {"advance_s": 9})
    inventory_poll(now=sim_now(cloudsim), full=True)
    kbo.refresh_from_db()
    assert FailoverEvent.objects.filter(channel=kbo, kind="failover").exists()
    assert kbo.push_missing_since is not None
    # The next callback shows the URL works again.
    assert post(api_client, callback(event_type=329)).status_code == 200
    kbo.refresh_from_db()
    assert kbo.push_missing_since is None


def test_a_switch_on_a_channel_without_callbacks_is_not_reported(demo, keyed):
    inventory_poll()
    demo.control("signal", {"input_id": KBO_MAIN, "pipeline": None, "present": False})
    demo.control("clock", {"advance_s": 9})
    inventory_poll(now=sim_now(demo), full=True)
    kbo = LiveChannel.objects.get(cloud_id=KBO)
    assert FailoverEvent.objects.filter(channel=kbo).exists()
    assert kbo.push_missing_since is None


def test_the_simulators_callbacks_reach_the_console(cloudsim, keyed, live_server, refreshes):
    scenario = load_scenario(None)
    for channel in scenario["mdl"]["channels"]:
        if channel["Id"] == KBO:
            push_settings = {"NotifyUrl": live_server.url + URL, "NotifyKey": KEY}
            channel["EventNotifySettings"] = {"PushEventSettings": push_settings}
    cloudsim.load(scenario)
    inventory_poll()
    cloudsim.control("signal", {"input_id": KBO_MAIN, "pipeline": None, "present": False})
    deadline = time.monotonic() + 15
    while PushEvent.objects.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(PushEvent.objects.values_list("pipeline", "event_type")) == [(0, 330), (1, 330)]
    log = cloudsim.control("callbacks", {})["log"]
    assert [e["status"] for e in log] == [200, 200]
    assert (KBO, 0) in refreshes  # the refresh of that channel was enqueued


def test_a_refresh_does_not_postpone_the_polls_look_at_the_channel(known):
    """A refresh between two polls leaves the poll's schedule alone: the next poll still
    details the channel, so a push never stretches its 10 s cadence."""
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now()
    channel_refresh(channel_id=KBO, now=start + timedelta(seconds=6))
    before = len(known.requests("mdl"))
    inventory_poll(now=start + timedelta(seconds=11))
    asked = {
        (e["params"] or {}).get("ChannelId")
        for e in known.requests("mdl")[before:]
        if e["action"] == "DescribeStreamLiveChannelInputStatistics"
    }
    assert KBO in asked
