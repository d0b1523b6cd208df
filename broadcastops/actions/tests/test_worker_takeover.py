"""Real Celery worker processes on the embedded filesystem broker (which never redelivers):
a worker killed in the middle of a restart, and processes racing to take actions over (a
command following a fix as the worker runs it: failover/tests/test_fix_in_a_worker.py).

The workers share this test's database: a copy of the SQLite test database in their data
folder (or, in the scaled run, the PostgreSQL test database itself), and the simulator that
runs in this process. Leases are a second long, so the takeover takes seconds.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from broadcastops.actions.tests.workers import Workers, until
from broadcastops.cloud.simulator.server import load_scenario
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.inventory.services.sync import inventory_poll

pytestmark = pytest.mark.django_db(transaction=True)

KBO2 = "67F4B1A0CD87FDB2A706"  # channel-kbo-002, RUNNING in the demo scenario


@pytest.fixture
def demo(cloudsim):
    cloudsim.load(load_scenario(None))
    return cloudsim


@pytest.fixture
def workers(demo, tmp_path):
    inventory_poll(full=True)
    group = Workers(tmp_path, demo.url)
    group.share_database()
    yield group
    group.close()


def test_a_restart_whose_worker_is_killed_after_the_stop_is_finished_by_another(demo, workers):
    # The window: the channel takes 5 s to stop, then 1 s to start.
    demo.control("options", {"start_delay_s": 1.0, "stop_delay_s": 5.0})
    begun = workers.django(
        "from broadcastops.actions.types import Actor\n"
        "from broadcastops.inventory.models import LiveChannel\n"
        "from broadcastops.inventory.services.actions import channel_restart\n"
        "a = channel_restart(channel=LiveChannel.objects.get(name='channel-kbo-002'), "
        "actor=Actor())\n"
        "print(json.dumps({'id': a.pk}))\n"
    )
    action_id = begun["id"]
    workers.beat()
    first = workers.worker("first")  # takes the queued restart as soon as it is up
    (stop,) = until(lambda: demo.requests("mdl", "StopStreamLiveChannel"), 60, "the stop")
    # Longer than two leases: the first worker keeps its lease while it waits (beat's
    # takeover runs meanwhile, and would hand the action to another run if it did not).
    time.sleep(max(0.0, stop["time"] + 2.5 - time.time()))
    held = workers.action(action_id)
    assert held["status"] == "running" and held["attempts"] == 1 and held["lease_owner"]
    assert held["steps"] == ["Stopping channel-kbo-002 (it was RUNNING)."]
    assert not demo.requests("mdl", "StartStreamLiveChannel")

    workers.kill(first)  # SIGKILL, as an OOM kill or a lost machine would
    assert workers.action(action_id)["status"] == "running"  # off air, nobody on it
    workers.worker("second")
    done = until(
        lambda: (a := workers.action(action_id))["status"] != "running" and a, 60, "the takeover"
    )

    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    assert done["steps"] == [
        "Stopping channel-kbo-002 (it was RUNNING).",
        "Taken over by a new worker (attempt 2): the previous one stopped.",
        "channel-kbo-002 is idle; starting it.",
        "channel-kbo-002 is running; checking its input.",
    ]
    assert done["outcome"].startswith("Restarted; pipeline 0: ")
    assert done["lease_owner"] == "" and done["lease_expires_at"] is None
    assert len(demo.requests("mdl", "StopStreamLiveChannel")) == 1
    assert len(demo.requests("mdl", "StartStreamLiveChannel")) == 1  # never a second start
    assert tencent_gateway().live_channel_get(channel_id=KBO2).state == "RUNNING"  # on air


TAKEOVER = """
import time
from pathlib import Path
from broadcastops.actions.services import action_takeover
barrier = Path({barrier!r})
(barrier / str(os.getpid())).touch()
while not (barrier / "go").exists():  # every process at the same moment
    time.sleep(0.01)
print(json.dumps({{"taken": action_takeover()}}))
"""


def test_processes_taking_over_at_once_never_take_the_same_action(workers):
    from datetime import timedelta

    from django.utils import timezone

    from broadcastops.actions.models import OperatorAction

    expired = timezone.now() - timedelta(seconds=5)
    OperatorAction.objects.bulk_create(
        OperatorAction(
            actor_name="dead worker",
            action="channel.restart",
            target_type="channel",
            target_id=f"C{i}",
            lease_owner="dead-worker",
            lease_expires_at=expired,
            attempts=1,
        )
        for i in range(40)
    )
    ids = set(OperatorAction.objects.values_list("pk", flat=True))
    workers.share_database()
    barrier = workers.data_dir / "barrier"
    barrier.mkdir()
    script = _django_script(TAKEOVER.format(barrier=str(barrier)))
    racers = [workers.start("-c", script, stdout=subprocess.PIPE) for _ in range(4)]
    until(lambda: len(list(barrier.iterdir())) == 4, 90, "the racers to be ready")
    (barrier / "go").touch()
    taken = []
    for racer in racers:
        out, _ = racer.communicate(timeout=90)
        assert racer.returncode == 0
        taken.append(set(json.loads(out.strip().splitlines()[-1])["taken"]))
    assert set.union(*taken) == ids  # every expired action handed over ...
    assert sum(len(t) for t in taken) == len(ids)  # ... by exactly one process
    assert sum(1 for t in taken if t) >= 2, taken  # and they really raced


def _django_script(code: str) -> str:
    return (
        "import django, json, os\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'broadcastops.settings'\n"
        "django.setup()\n" + code
    )
