"""Run a snippet under fresh settings in a child process (settings are read once per process);
an ASGI request's scope, and what a block leaves to the garbage collector."""

import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_django(code: str, env: dict[str, str], timeout: float = 60) -> dict:
    """Run ``code`` after ``django.setup()``; it must print one JSON object last."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    script = "import django, json\ndjango.setup()\n" + code
    # The child's own data directory, removed after it (468 were left in /tmp before).
    with tempfile.TemporaryDirectory(prefix="bo-child-") as data_dir:
        base["BROADCASTOPS_DATA_DIR"] = data_dir
        base.update(env)
        proc = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**base, "DJANGO_SETTINGS_MODULE": "broadcastops.settings"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if proc.returncode != 0:
        return {"returncode": proc.returncode, "stderr": proc.stderr}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_manage(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    """``manage.py ARGS`` in a child process with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def actions_run_pending() -> list[int]:
    """Run every begun action that no worker holds, as the Celery worker would (tests call
    the task as a function: no eager mode). Returns their ids."""
    from broadcastops.actions.models import OperatorAction
    from broadcastops.actions.tasks import action_run_task

    pending = list(
        OperatorAction.objects.filter(status="running", lease_owner="")
        .exclude(lease_expires_at=None)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for action_id in pending:
        action_run_task(action_id)
    return pending


def password_for_servers(user, raw: str) -> None:
    """Give ``user`` a password a web process started by a test can check.

    The tests hash passwords with MD5 (conftest: PBKDF2 costs ~0.7 s each); a daphne or Celery
    process runs the real settings, which accept only Django's default hasher, so a browser's
    sign-in there would be refused."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(raw, hasher.salt())
    user.save(update_fields=["password"])


def asgi_http_scope(method: str, where: str, body: bytes = b"") -> dict:
    """The scope of an HTTP request from a loopback client, with a text body if any."""
    headers = [(b"host", b"127.0.0.1")]
    if body:
        headers += [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": where,
        "raw_path": where.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


@contextlib.contextmanager
def garbage_left() -> Iterator[Counter]:
    """Counts, by type name, what the block left for the collector (reference counting alone
    frees the rest); filled when the block ends. type(), not isinstance(): that asks a lazy
    object (the user, the CSP nonce) its class, which evaluates it."""
    left: Counter = Counter()
    gc.collect()
    gc.disable()
    try:
        yield left
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left.update(type(o).__name__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
