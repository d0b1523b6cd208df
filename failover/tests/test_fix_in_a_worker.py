"""failover_fix --apply with a real Celery worker: the command prints the fix's progress lines
as the worker writes them, then its outcome."""

import subprocess
import time

import pytest

from broadcastops.actions.tests.workers import Workers
from broadcastops.cloud.simulator.server import load_scenario
from broadcastops.inventory.services.sync import inventory_poll
from failover.tests.conftest import STOP_START_STEPS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workers(cloudsim, tmp_path):
    cloudsim.load(load_scenario(None))
    inventory_poll(full=True)
    group = Workers(tmp_path, cloudsim.url)
    group.share_database()
    yield group
    group.close()


def test_failover_fix_apply_prints_the_progress_as_the_worker_writes_it(cloudsim, workers):
    cloudsim.control("options", {"start_delay_s": 1.5, "stop_delay_s": 1.5})
    workers.worker("only")
    command = workers.start(
        "manage.py",
        "failover_fix",
        "cj_onstyle",
        "--apply",
        "--allow-stop-start",
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []  # (when it arrived, the line)
    for line in command.stdout:
        lines.append((time.monotonic(), line.rstrip()))
    assert command.wait(timeout=60) == 0, lines
    text = [line for _, line in lines]
    assert text[0].startswith("Action #") and "(channel.failover_fix on cj_onstyle)" in text[0]
    steps = [line.split(" ", 3)[-1] for line in text[1:-1]]
    assert steps[0].startswith("Plan: ")
    assert steps[1:] == STOP_START_STEPS
    assert text[-1].startswith("VERIFIED: cj_onstyle: 69425CAF0000BBDE05D7 now fails over to")
    # Printed as they came: the stop's line arrived a start delay before the end.
    stopping = next(when for when, line in lines if line.endswith("to modify it."))
    assert lines[-1][0] - stopping >= 1.5
