"""Celery processes, daphne and commands sharing a test's database, broker and simulator.

SQLite's in-memory test database is copied to the processes' data folder when asked
(``share_database``); in the scaled run they use the PostgreSQL test database itself. The
broker is always the embedded filesystem one (it never redelivers a message). Leases are a
second long, so a takeover takes seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY
from broadcastops.tests.helpers import ROOT, run_django


class Workers:
    """Celery processes (beat, workers) and commands on one shared database and broker."""

    def __init__(self, data_dir: Path, sim_url: str):
        self.data_dir = data_dir
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        }
        self.env.update(
            BROADCASTOPS_DATA_DIR=str(data_dir),
            TENCENTCLOUD_ENDPOINT=sim_url,
            TENCENTCLOUD_SECRET_ID=SIM_SECRET_ID,
            TENCENTCLOUD_SECRET_KEY=SIM_SECRET_KEY,
            ACTIONS_LEASE_S="1",
            ACTIONS_TAKEOVER_INTERVAL_S="0.3",
            INVENTORY_RESTART_POLL_S="0.2",
            FAILOVER_VERIFY_POLL_S="0.2",
            # Nothing else on the beat while the test runs.
            INVENTORY_ON_AIR_INTERVAL_S="3600",
            HEARTBEAT_INTERVAL_S="3600",
        )
        self.sqlite = connection.vendor == "sqlite"
        if not self.sqlite:
            db = connection.settings_dict
            self.env["DATABASE_URL"] = (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            )
        self.processes: list[subprocess.Popen] = []

    def share_database(self) -> None:
        """Let the workers see this test's rows: SQLite's in-memory test database is copied
        to their data folder as it is now (PostgreSQL's is shared as it is)."""
        if self.sqlite:
            target = sqlite3.connect(self.data_dir / "broadcastops.sqlite3")
            connection.ensure_connection()
            connection.connection.backup(target)
            target.close()

    def start(self, *args: str, **popen) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,  # its own group: a kill takes its children too
            **{"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen},
        )
        self.processes.append(process)
        return process

    def worker(self, name: str) -> subprocess.Popen:
        return self.start(
            "-m",
            "celery",
            "-A",
            "broadcastops",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "2",
            "-n",
            f"{name}@%h",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        )

    def beat(self) -> subprocess.Popen:
        schedule = self.data_dir / "beat-schedule"
        return self.start(
            "-m", "celery", "-A", "broadcastops", "beat", "-s", str(schedule), "-l", "WARNING"
        )

    def daphne(self) -> str:
        """The console in daphne on a free loopback port; its URL once it answers."""
        import requests

        with contextlib.closing(socket.socket()) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.start(
            "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "broadcastops.asgi:application"
        )
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return requests.get(f"{url}/admin/login/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        until(answers, 60, "daphne")
        return url

    def django(self, code: str) -> dict:
        result = run_django(code, self.env, timeout=90)
        assert "returncode" not in result, result
        return result

    def action(self, action_id: int) -> dict:
        """The action's row as the workers see it."""
        columns = "status, attempts, lease_owner, lease_expires_at, outcome, progress"
        query = f"SELECT {columns} FROM inventory_operatoraction WHERE id = %s"  # noqa: S608
        if self.sqlite:
            with contextlib.closing(sqlite3.connect(self.data_dir / "broadcastops.sqlite3")) as db:
                row = db.execute(query.replace("%s", "?"), (action_id,)).fetchone()
        else:
            with connection.cursor() as cursor:
                cursor.execute(query, [action_id])
                row = cursor.fetchone()
        names = [c.strip() for c in columns.split(",")]
        action = dict(zip(names, row, strict=True))
        if isinstance(action["progress"], str):
            action["progress"] = json.loads(action["progress"])
        action["steps"] = [p["step"] for p in action["progress"]]
        return action

    def kill(self, process: subprocess.Popen, sig=signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)

    def close(self) -> None:
        for process in self.processes:  # the test is over: no need for a warm shutdown
            if process.poll() is None:
                self.kill(process)


def until(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
