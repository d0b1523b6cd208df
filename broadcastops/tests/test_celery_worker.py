"""One smoke test with a real Celery worker on the embedded (filesystem) broker."""

import os
import subprocess
import sys
import time

from broadcastops.tests.helpers import ROOT, run_django


def test_a_real_worker_runs_the_heartbeat_sent_through_the_filesystem_broker(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["BROADCASTOPS_DATA_DIR"] = str(tmp_path)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "broadcastops",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        send = """
from django.core.cache import cache
from broadcastops.health import HEARTBEAT_KEY
from broadcastops.tasks import heartbeat_task
cache.delete(HEARTBEAT_KEY)
heartbeat_task.delay()
print(json.dumps({"sent": True}))
"""
        assert run_django(send, {"BROADCASTOPS_DATA_DIR": str(tmp_path)}) == {"sent": True}
        read = """
from django.core.cache import cache
from broadcastops.health import HEARTBEAT_KEY
print(json.dumps({"beat": cache.get(HEARTBEAT_KEY)}))
"""
        deadline = time.monotonic() + 45
        beat = None
        while time.monotonic() < deadline and beat is None:
            beat = run_django(read, {"BROADCASTOPS_DATA_DIR": str(tmp_path)})["beat"]
            if beat is None:
                time.sleep(0.5)
        assert beat is not None, "the worker never ran heartbeat_task"
        assert abs(time.time() - beat) < 60
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
