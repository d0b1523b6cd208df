"""A real daphne process on a free loopback port, with its own data folder and database.

pytest-django's live server speaks WSGI only; WebSockets, MJPEG and the browser tests need
the ASGI server the console runs in production.
"""

import os
import signal
import socket
import subprocess
import sys
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DaphneServer:
    data_dir: Path
    env: dict
    port: int
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

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
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
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "broadcastops.asgi:application",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "daphne exited at start"
            try:
                requests.get(self.url + "/api/v1/me/", timeout=2)
                return
            # Not listening yet, or (a loaded machine) too slow for its first answer.
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise AssertionError("daphne did not start in 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")


def daphne_prepare(data_dir: Path, **extra_env: str) -> DaphneServer:
    env = {
        **os.environ,
        "BROADCASTOPS_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "broadcastops.settings",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "STREAMING_REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    server = DaphneServer(data_dir=data_dir, env=env, port=free_port())
    server.manage("migrate", "--noinput")
    server.session_key, server.token = server.manage("shell", "-c", _SETUP).split()[-2:]
    return server
