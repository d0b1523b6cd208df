"""A real Celery worker on the embedded (filesystem) broker: the heartbeat, and Slack delivery
retried by the worker until the webhook answers."""

import os
import subprocess
import sys
import time

from broadcastops.tests.helpers import ROOT, run_django, run_manage


def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
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
        stderr=subprocess.DEVNULL,
    )


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()


def _env(tmp_path, **extra: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    return {**env, "BROADCASTOPS_DATA_DIR": str(tmp_path), **extra}


def test_a_real_worker_runs_the_heartbeat_sent_through_the_filesystem_broker(tmp_path):
    worker = _worker(_env(tmp_path))
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
        _stop(worker)


def test_a_real_worker_retries_slack_until_it_answers(tmp_path):
    from conftest import FakeSlack

    slack = FakeSlack()
    slack.replies = [(503, "busy"), (500, "oops")]  # two failures, then 200 "ok"
    settings = {
        "SLACK_WEBHOOK_URL": slack.url,
        "NOTIFY_RETRY_BACKOFF_S": "0.2",
        "NOTIFY_MAX_ATTEMPTS": "5",
    }
    env = _env(tmp_path, **settings)
    migrated = run_manage("migrate", "--noinput", "-v0", env=env)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    worker = _worker(env)
    try:
        send = """
from broadcastops.notify.services import notify
row = notify(event="channel.failover", subject="ch-9", severity="warning", title="ch-9 on BACKUP")
print(json.dumps({"id": row.pk}))
"""
        notification_id = run_django(send, {**settings, "BROADCASTOPS_DATA_DIR": str(tmp_path)})[
            "id"
        ]
        # Retries wait 0.2 then 0.4 s; the broker is polled every second: generous for a busy VM.
        deadline = time.monotonic() + 60
        while len(slack.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(slack.received) == 3, f"Slack got {len(slack.received)} posts"
        read = f"""
from broadcastops.notify.models import Notification
row = Notification.objects.get(pk={notification_id})
print(json.dumps({{"status": row.status, "attempts": row.attempts, "error": row.last_error}}))
"""
        deadline = time.monotonic() + 20
        while (row := run_django(read, env))["status"] == "pending" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert row == {"status": "sent", "attempts": 3, "error": ""}
        assert all(post["text"].endswith("ch-9 on BACKUP") for post in slack.received)
    finally:
        _stop(worker)
        slack.close()
