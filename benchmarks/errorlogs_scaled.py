"""The player error reports in the scaled mode: two web processes on one port, PostgreSQL and
Redis.

    .venv/bin/python -m benchmarks.errorlogs_scaled \\
        --database-url postgres://broadcastops:broadcastops@127.0.0.1:5432/<db> \\
        --redis-url redis://127.0.0.1:6379/<db> --out benchmarks/results/errorlogs_scaled.md

The project has no load balancer of its own (the README's scaled mode puts daphne processes
behind the operator's). Here the kernel spreads the connections: this script opens one
listening socket per process, each with ``SO_REUSEPORT`` on the same port, and starts each
web process (the Procfile's command) on its socket with daphne's ``--fd`` (Twisted's ``fd:``
endpoint adopts it; daphne's ``tcp:`` endpoint string has no reuse-port option). Each process
has its own writer, throttle and group cache; both keep rows in the one PostgreSQL database
and lines in the one day file. The same load client and scenarios as
``benchmarks/errorlogs_load.py``, the design only: the report endpoint.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from benchmarks.errorlogs_load import (
    ADMIN_PATH,
    REPORT_PATH,
    SCENARIOS,
    AdminProbe,
    Result,
    process_cpu_s,
    row,
    run,
)
from broadcastops.tests.daphne_server import daphne_prepare, web_command

ORIGIN = "http://players.example"


def listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def fd_command(port: int, fd: int, code_dir: Path) -> list[str]:
    """The Procfile's web command, listening on an inherited socket instead of -b/-p."""
    command = web_command(port, code_dir)
    at = command.index("-b")
    return [*command[:at], "--fd", str(fd), *command[at + 4 :]]


def stored(database_url: str, data_dir: Path) -> tuple[set[str], list[str]]:
    import psycopg

    with psycopg.connect(database_url, connect_timeout=10) as db:
        rows = {
            str(uuid.UUID(str(r[0])))
            for r in db.execute("SELECT report_id FROM errorlogs_errorreport").fetchall()
        }
    ids: list[str] = []
    for path in (data_dir / "logs" / "mediamtx_errors").glob("*.jsonl"):
        with path.open() as lines:
            ids += [json.loads(line)["reportId"] for line in lines]
    return rows, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    for url in (args.database_url, args.redis_url):
        assert urlsplit(url).hostname in ("127.0.0.1", "localhost"), "loopback addresses only"
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20_000), hard))
    load_before, started = os.getloadavg(), datetime.now(UTC)
    lines = [
        "| scenario | processes | reports 202 | reports/s | p50 ms | p99 ms | answers | "
        "connection errors | admin list meanwhile (n: p50 / max) | "
        "lost: table / file / lines twice | CPU s: servers / load client / wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="errorlogs-scaled-") as tmp:
        data_dir = Path(tmp) / "data"
        server = daphne_prepare(
            data_dir,
            DATABASE_URL=args.database_url,
            REDIS_URL=args.redis_url,
            CORS_ALLOWED_ORIGINS=ORIGIN,
        )
        server.manage(
            "shell",
            "-c",
            "from errorlogs.models import ErrorReport; ErrorReport.objects.all().delete()",
        )
        sockets = [listening_socket(server.port) for _ in range(args.processes)]
        processes = [
            subprocess.Popen(
                fd_command(server.port, sock.fileno(), server.code_dir),
                cwd=server.code_dir,
                env=server.env,
                pass_fds=[sock.fileno()],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for sock in sockets
        ]
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    requests.get(server.url + "/api/v1/me/", timeout=5)
                    break
                except requests.RequestException:
                    time.sleep(0.3)
            time.sleep(3)  # the second process too
            assert all(p.poll() is None for p in processes), "a web process exited"
            for scenario in SCENARIOS:
                cpu_before = [process_cpu_s(p.pid) for p in processes]
                client_before = time.process_time()
                with AdminProbe(server.url + ADMIN_PATH, server.cookie) as admin:
                    result: Result = run(
                        scenario,
                        port=server.port,
                        path=REPORT_PATH,
                        origin=ORIGIN,
                        clients=args.clients,
                    )
                servers_cpu = sum(
                    process_cpu_s(p.pid) - before
                    for p, before in zip(processes, cpu_before, strict=True)
                )
                cpu = (
                    f"{servers_cpu:.1f} / {time.process_time() - client_before:.1f} / "
                    f"{result.duration_s:.1f}"
                )
                time.sleep(1.0)  # the writers' last batches
                rows, ids = stored(args.database_url, data_dir)
                lost = (
                    f"{len(result.accepted_ids - rows)} / {len(result.accepted_ids - set(ids))} / "
                    f"{len(ids) - len(set(ids))}"
                )
                lines.append(
                    row(scenario.name, str(args.processes), result, admin.summary(), lost, cpu)
                )
                print(lines[-1], flush=True)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
            for sock in sockets:
                sock.close()
    load_after = os.getloadavg()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    text = "\n".join(
        [
            "# Player error reports, scaled mode (benchmarks/errorlogs_scaled.py)",
            "",
            f"Run {started:%Y-%m-%d %H:%M} UTC at {commit}: {args.processes} web processes "
            "(the Procfile's command, each on its own SO_REUSEPORT socket of one port, daphne "
            f"--fd), PostgreSQL and Redis on loopback, {args.clients} clients as in "
            "errorlogs_load.md. Machine: 2 cores shared with other engineers and with this "
            "load client; load average before "
            f"{', '.join(f'{v:.2f}' for v in load_before)}, after "
            f"{', '.join(f'{v:.2f}' for v in load_after)}.",
            "",
            *lines,
            "",
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
