"""The issue's "done when", with real processes: Celery workers and beats on the embedded
filesystem broker, sharing this test's database, the simulator in this process (its request
log counts the starts) and a local Slack webhook server.

The schedules start a few seconds ahead and the tick runs every half second
(``SCHEDULING_TICK_INTERVAL_S``), so nothing waits for minutes; the same steps on a schedule
two minutes ahead are in ``test_automation.py`` (the tick given the time).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops.actions.tests.workers import Workers, until
from broadcastops.cloud.simulator.server import load_scenario
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.sync import inventory_poll
from scheduling.services import schedule_create
from scheduling.tests.conftest import KBO3

pytestmark = pytest.mark.django_db(transaction=True)

READ = """
from scheduling.models import Schedule, ScheduleStep
from broadcastops.actions.models import OperatorAction
s = Schedule.objects.get(pk={pk})
start = ScheduleStep.objects.get(schedule=s, kind="start")
late = (start.started_at - start.due_at).total_seconds() if start.started_at else None
print(json.dumps({{"status": s.status, "start": start.state, "late_s": late,
    "actions": list(OperatorAction.objects.filter(target_id="{channel}").values_list(
        "action", "origin", "status"))}}))
"""


@pytest.fixture
def group(cloudsim, tmp_path, slack):
    cloudsim.load(load_scenario(None))
    inventory_poll(full=True)
    workers = Workers(tmp_path, cloudsim.url)
    workers.env.update(
        SCHEDULING_TICK_INTERVAL_S="0.5",
        SCHEDULING_LATE_REPORT_S="1",
        SLACK_WEBHOOK_URL=slack.url,
        NOTIFY_RETRY_BACKOFF_S="0.2",
    )
    yield workers
    workers.close()


def _schedule(seconds_ahead: float):
    channel = LiveChannel.objects.get(cloud_id=KBO3)
    starts_at = timezone.now() + timedelta(seconds=seconds_ahead)
    return schedule_create(
        title="KBO LG vs Doosan",
        channel=channel,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=3),
        auto_start=True,
        auto_stop=True,
    ).schedules[0]


def _beat(workers: Workers, name: str):
    schedule = workers.data_dir / f"beat-{name}"
    return workers.start(
        "-m", "celery", "-A", "broadcastops", "beat", "-s", str(schedule), "-l", "WARNING"
    )


def _said(slack, words: str) -> list[dict]:
    return [m for m in slack.received if words in m["text"]]


def _read(workers: Workers, schedule) -> dict:
    return workers.django(READ.format(pk=schedule.pk, channel=KBO3))


def test_two_workers_and_two_beats_start_a_schedule_once(cloudsim, group, slack):
    schedule = _schedule(6)
    group.share_database()
    for name in ("one", "two"):
        _beat(group, name)
        group.worker(name)
    until(lambda: _said(slack, "방송 중"), 90, "the on-air message")
    time.sleep(2)  # more ticks from both beats, on both workers

    assert len(cloudsim.requests("mdl", "StartStreamLiveChannel")) == 1
    assert tencent_gateway().live_channel_get(channel_id=KBO3).state == "RUNNING"
    seen = _read(group, schedule)
    assert seen["status"] == "on_air" and seen["start"] == "done"
    assert seen["actions"] == [["channel.scheduled_start", "schedule", "succeeded"]]
    assert len(_said(slack, "방송 중")) == 1  # told once
    assert len(_said(slack, "준비 완료")) == 1 or len(_said(slack, "조치 필요")) == 1  # the check


def test_a_worker_down_across_the_start_and_back_within_grace_starts_it_late_once(
    cloudsim, group, slack
):
    group.env["SCHEDULING_GRACE_S"] = "60"
    schedule = _schedule(2)
    group.share_database()
    _beat(group, "one")  # the beat runs; no worker takes its ticks
    time.sleep(max(0.0, (schedule.starts_at - timezone.now()).total_seconds() + 4))
    assert not cloudsim.requests("mdl", "StartStreamLiveChannel")
    group.worker("back")
    until(lambda: _said(slack, "방송 중"), 90, "the late start")
    time.sleep(1.5)

    assert len(cloudsim.requests("mdl", "StartStreamLiveChannel")) == 1
    seen = _read(group, schedule)
    assert seen["start"] == "done" and seen["late_s"] >= 4
    (message,) = _said(slack, "방송 중")
    assert "지연" in str(message["blocks"])  # "Late by", in Korean


def test_a_worker_back_after_the_grace_period_marks_the_start_missed(cloudsim, group, slack):
    group.env["SCHEDULING_GRACE_S"] = "3"
    schedule = _schedule(2)
    group.share_database()
    _beat(group, "one")
    time.sleep(max(0.0, (schedule.starts_at - timezone.now()).total_seconds() + 5))
    group.worker("too-late")
    until(lambda: _said(slack, "시작 놓침"), 90, "the missed message")
    time.sleep(1.5)

    assert not cloudsim.requests("mdl", "StartStreamLiveChannel")
    seen = _read(group, schedule)
    assert seen["start"] == "missed" and seen["status"] == "missed"
    assert seen["actions"] == []
