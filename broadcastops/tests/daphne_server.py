"""A real web process (daphne, as ``make run`` starts it: ``broadcastops.webserver``) on a free
loopback port, with its own data folder and database.

pytest-django's live server speaks WSGI only; WebSockets, MJPEG and the browser tests need
the ASGI server the console runs in production.
"""

import atexit
import contextlib
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parents[2]

_SETUP = """
from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token
from broadcastops.accounts.roles import Role
from broadcastops.accounts.services import user_set_role
user = get_user_model().objects.create_user(username="op", password="op-password-1")
user_set_role(user=user, role=Role.OPERATOR)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key, Token.objects.create(user=user).key)
"""


def web_command(port: int, code_dir: Path = BASE_DIR) -> list[str]:
    """The Procfile's ``web`` command (what ``make run`` starts), on ``port``, run by this
    Python: ``.venv/bin/python ...`` as is, ``.venv/bin/<tool> ...`` as ``python -m <tool>``.
    """
    procfile = (code_dir / "Procfile").read_text()
    line = next(line for line in procfile.splitlines() if line.startswith("web:"))
    program, *args = shlex.split(line.removeprefix("web:"))
    tool = Path(program).name
    command = [sys.executable] if tool.startswith("python") else [sys.executable, "-m", tool]
    for index, arg in enumerate(args):
        if arg in ("-p", "--port"):
            args[index + 1] = str(port)
    return command + args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DaphneServer:
    data_dir: Path
    env: dict
    port: int
    code_dir: Path = BASE_DIR
    session_key: str = ""
    token: str = ""
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cookie(self) -> str:
        return f"sessionid={self.session_key}"

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Token {self.token}"}

    def upload_and_start(self, clip: Path, camera_id: str) -> str:
        """Upload ``clip`` for ``camera_id`` and play it (with the Operator's token)."""
        with open(clip, "rb") as handle:
            response = requests.post(
                f"{self.url}/api/live-monitoring/upload-video?camera_id={camera_id}",
                files={"video": (clip.name, handle)},
                headers=self.auth,
                timeout=60,
            )
        assert response.status_code == 201, response.text
        upload_id = response.json()["upload_id"]
        started = requests.post(
            f"{self.url}/api/v1/live-monitoring/cameras/{camera_id}/start",
            json={"upload_id": upload_id},
            headers=self.auth,
            timeout=10,
        )
        assert started.status_code == 201, started.text
        return upload_id

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.code_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self) -> None:
        self.process = subprocess.Popen(
            web_command(self.port, self.code_dir),
            cwd=self.code_dir,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "daphne exited at start"
            try:
                requests.get(self.url + "/api/v1/me/", timeout=5)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
            except requests.Timeout:
                pass  # listening, but its first request is slow on a busy machine
        raise AssertionError("daphne did not start in 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def _status_mb(self, field: str) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError(f"no {field}")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS")

    def rss_peak_reset(self) -> None:
        """Start the peak (VmHWM) again from the current size (Linux ``clear_refs``)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def rss_peak_mb(self) -> float:
        """The largest size since the start or the last ``rss_peak_reset``."""
        return self._status_mb("VmHWM")


def _embedded_env(data_dir: Path, **extra_env: str) -> dict:
    return {
        **os.environ,
        "BROADCASTOPS_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "broadcastops.settings",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "STREAMING_REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }


# code folder -> a data folder holding a database ``migrate`` made from nothing; and one
# that also holds the Operator of _SETUP (its session key and token). Made once per process.
_MIGRATED: dict[Path, Path] = {}
_SIGNED_IN: dict[Path, tuple[Path, str, str]] = {}
DATABASE_FILE = "broadcastops.sqlite3"


def _database_copy(source_dir: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source_dir / DATABASE_FILE)) as source,
        contextlib.closing(sqlite3.connect(data_dir / DATABASE_FILE)) as target,
    ):
        source.backup(target)  # whole, write-ahead log included


def migrated_data_dir(data_dir: Path, code_dir: Path = BASE_DIR) -> None:
    """Put in ``data_dir`` the embedded database as ``manage.py migrate --noinput`` makes it
    from nothing: a copy of one migrated once per test process (``migrate`` costs ~8 s)."""
    if code_dir not in _MIGRATED:
        folder = Path(tempfile.mkdtemp(prefix="broadcastops-migrated-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        maker = DaphneServer(data_dir=folder, env=_embedded_env(folder), port=0, code_dir=code_dir)
        maker.manage("migrate", "--noinput")
        _MIGRATED[code_dir] = folder
    _database_copy(_MIGRATED[code_dir], data_dir)


def _signed_in(code_dir: Path) -> tuple[Path, str, str]:
    if code_dir not in _SIGNED_IN:
        folder = Path(tempfile.mkdtemp(prefix="broadcastops-web-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        migrated_data_dir(folder, code_dir)
        maker = DaphneServer(data_dir=folder, env=_embedded_env(folder), port=0, code_dir=code_dir)
        session_key, token = maker.manage("shell", "-c", _SETUP).split()[-2:]
        _SIGNED_IN[code_dir] = (folder, session_key, token)
    return _SIGNED_IN[code_dir]


def daphne_prepare(data_dir: Path, code_dir: Path = BASE_DIR, **extra_env: str) -> DaphneServer:
    """A server on its own migrated database with an Operator signed in (``session_key``,
    ``token``); not started.

    ``migrate`` from nothing and the Operator's ``shell`` cost ~11 s of two processes: they
    run once per test process into a template data folder, whose database and secret key
    (which signed the session) each server copies. ``extra_env`` changes neither, unless it
    names the database or the secret key: then the commands run for this server.
    """
    env = _embedded_env(data_dir, **extra_env)
    server = DaphneServer(data_dir=data_dir, env=env, port=free_port(), code_dir=code_dir)
    if {"DATABASE_URL", "SECRET_KEY"} & set(extra_env) or os.environ.get("SECRET_KEY"):
        server.manage("migrate", "--noinput")
        server.session_key, server.token = server.manage("shell", "-c", _SETUP).split()[-2:]
        return server
    template, server.session_key, server.token = _signed_in(code_dir)
    _database_copy(template, data_dir)
    shutil.copy2(template / "secret_key", data_dir / "secret_key")
    return server


def daphne_simulated(cloudsim, data_dir: Path, **extra_env: str) -> DaphneServer:
    """``daphne_prepare`` against the simulator loaded with the demo scenario, synced once
    (not started: seed its database with ``manage("shell", ...)`` first)."""
    from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY, load_scenario

    cloudsim.load(load_scenario(None))
    server = daphne_prepare(
        data_dir,
        TENCENTCLOUD_ENDPOINT=cloudsim.url,
        TENCENTCLOUD_SECRET_ID=SIM_SECRET_ID,
        TENCENTCLOUD_SECRET_KEY=SIM_SECRET_KEY,
        **extra_env,
    )
    server.manage("sync_cloud", "--once")
    return server
