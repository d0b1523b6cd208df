"""A real Celery worker on the embedded (filesystem) broker: the heartbeat, and Slack delivery
retried by the worker until the webhook answers.

What the worker wrote is read here from its data folder (the file cache, the SQLite database)
rather than by a Django child process for each look (~3 s of imports each)."""

import contextlib
import os
import sqlite3
import subprocess
import sys
import time

from broadcastops.tests.daphne_server import DATABASE_FILE, migrated_data_dir
from broadcastops.tests.helpers import ROOT, run_django


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
        # The embedded settings' cache: a FileBasedCache in the data folder's "cache".
        from django.core.cache.backends.filebased import FileBasedCache

        from broadcastops.health import HEARTBEAT_KEY

        workers_cache = FileBasedCache(str(tmp_path / "cache"), {})
        deadline = time.monotonic() + 45
        beat = None
        while time.monotonic() < deadline and beat is None:
            beat = workers_cache.get(HEARTBEAT_KEY)
            if beat is None:
                time.sleep(0.2)
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
    migrated_data_dir(tmp_path)  # the database `manage.py migrate` makes
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

        def read() -> dict:
            query = "SELECT status, attempts, last_error FROM notify_notification WHERE id = ?"
            with contextlib.closing(sqlite3.connect(tmp_path / DATABASE_FILE)) as db:
                status, attempts, error = db.execute(query, (notification_id,)).fetchone()
            return {"status": status, "attempts": attempts, "error": error}

        deadline = time.monotonic() + 20
        while (row := read())["status"] == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert row == {"status": "sent", "attempts": 3, "error": ""}
        assert all(post["text"].endswith("ch-9 on BACKUP") for post in slack.received)
    finally:
        _stop(worker)
        slack.close()
