"""A worker died in the middle of an action; the one that takes it over resumes from the
cloud's state and the checkpoint, and never repeats a start (the killed-worker test with real
processes is broadcastops/actions/tests/test_worker_takeover.py)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.tasks import action_takeover_task
from broadcastops.actions.types import Actor
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.actions import channel_restart, channel_start
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.tests.helpers import actions_run_pending

pytestmark = pytest.mark.django_db(transaction=True)

KBO2 = "67F4B1A0CD87FDB2A706"  # channel-kbo-002, RUNNING
NEWS2 = "66F1779B1AB2DFF5BDAA"  # channel-news-002, IDLE


@pytest.fixture
def synced(demo, settings):
    settings.INVENTORY_RESTART_POLL_S = 0.05
    inventory_poll(full=True)
    return demo


def _state(channel_id: str) -> str:
    return tencent_gateway().live_channel_get(channel_id=channel_id).state


def _until_state(channel_id: str, state: str) -> None:
    deadline = time.monotonic() + 10
    while _state(channel_id) != state:
        assert time.monotonic() < deadline, f"{channel_id} never {state}"
        time.sleep(0.05)


def _worker_died(action: OperatorAction, **state) -> None:
    """What a dead worker leaves: its checkpoint, and a lease nobody renews."""
    OperatorAction.objects.filter(pk=action.pk).update(
        state=state,
        attempts=1,
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )


def _take_over(action: OperatorAction) -> OperatorAction:
    action_takeover_task()
    assert actions_run_pending() == [action.pk]
    return OperatorAction.objects.get(pk=action.pk)


def test_a_restart_taken_over_after_its_start_never_starts_twice(synced):
    action = channel_restart(channel=LiveChannel.objects.get(cloud_id=KBO2), actor=Actor())
    gateway = tencent_gateway()
    # The dead worker stopped the channel, entered the start phase and sent the start.
    gateway.live_channel_stop(channel_id=KBO2)
    _until_state(KBO2, "IDLE")
    gateway.live_channel_start(channel_id=KBO2)
    _worker_died(action, phase="start")
    done = _take_over(action)
    assert done.status == "succeeded" and done.attempts == 2
    assert "channel-kbo-002 was started already: no second start." in [
        p["step"] for p in done.progress
    ]
    assert len(synced.requests("mdl", "StartStreamLiveChannel")) == 1
    assert len(synced.requests("mdl", "StopStreamLiveChannel")) == 1
    assert _state(KBO2) == "RUNNING"


def test_a_restart_taken_over_before_its_stop_stops_and_starts_once(synced):
    action = channel_restart(channel=LiveChannel.objects.get(cloud_id=KBO2), actor=Actor())
    _worker_died(action)  # it died before doing anything
    done = _take_over(action)
    assert done.status == "succeeded"
    assert len(synced.requests("mdl", "StopStreamLiveChannel")) == 1
    assert len(synced.requests("mdl", "StartStreamLiveChannel")) == 1
    assert _state(KBO2) == "RUNNING"


def test_a_start_taken_over_while_the_channel_starts_waits_for_it(synced):
    action = channel_start(channel=LiveChannel.objects.get(cloud_id=NEWS2), actor=Actor())
    tencent_gateway().live_channel_start(channel_id=NEWS2)  # sent, then the worker died
    _worker_died(action, phase="start")
    done = _take_over(action)
    assert done.status == "succeeded" and done.result == {"state": "RUNNING"}
    assert len(synced.requests("mdl", "StartStreamLiveChannel")) == 1
