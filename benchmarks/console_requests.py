"""The console's own Django requests through the web process: latency, throughput, CPU.

Starts the web process as ``make run`` does (``daphne_prepare``: migrated, an Operator signed
in) and sends, on keep-alive connections from this process:

- serial: ``--requests`` of each kind one after the other (a DRF list with a Token, the
  admin's index with the session cookie, a static file, and an async view: a camera's
  snapshot, which answers 404 when no stream runs);
- concurrent: ``--clients`` threads sending ``--requests`` DRF lists each, at once.

For each: requests/s, p50/p99 latency, and the web process's CPU milliseconds per request.
``--before DIR`` runs the same against another checkout first (``git worktree add --detach
DIR main``; it uses this checkout's virtualenv), alternating ``--rounds`` times, for a
before/after table.

    flock -x /work/wt/bench.lock .venv/bin/python -m benchmarks.console_requests \\
        --before /work/wt/base --out benchmarks/results/console_requests.md
"""

import argparse
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from benchmarks.errorlogs_load import process_cpu_s, settle
from broadcastops.tests.daphne_server import BASE_DIR, DaphneServer, daphne_prepare

KINDS = {
    "DRF list (Token)": ("/api/v1/error-logs/mediamtx/latest?limit=50", "token"),
    "admin index (session)": ("/admin/", "session"),
    "static file": ("/static/errorlogs/reporter.js", ""),
    "async view (snapshot, 404)": ("/api/v1/live-monitoring/cameras/cam1/snapshot.jpg", "token"),
}
TIMEOUT_S = 10.0


@dataclass
class Row:
    code: str
    kind: str
    count: int
    seconds: float
    latencies: list[float]
    cpu_s: float
    statuses: dict[int, int]

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"| {self.code} | {self.kind} | {self.count} | {self.count / self.seconds:,.0f} | "
            f"{self.percentile_ms(0.5):.1f} | {self.percentile_ms(0.99):.1f} | "
            f"{self.cpu_s * 1000 / self.count:.2f} | {statuses} |"
        )


def _session(server: DaphneServer, auth: str) -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = "ko"
    if auth == "token":
        session.headers.update(server.auth)
    elif auth == "session":
        session.headers["Cookie"] = server.cookie
    return session


def _send(session: requests.Session, url: str, count: int, out: list, statuses: dict) -> None:
    deadline = time.monotonic() + 120  # bounded in time as well as in count
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        response = session.get(url, timeout=TIMEOUT_S)
        out.append(time.perf_counter() - started)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1


def measure(server: DaphneServer, code: str, kind: str, count: int, clients: int) -> Row:
    path, auth = KINDS[kind]
    sessions = [_session(server, auth) for _ in range(clients)]
    for session in sessions:  # connected and warm before the clock starts
        session.get(server.url + path, timeout=TIMEOUT_S)
    settle(server.process.pid)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cpu_before = process_cpu_s(server.process.pid)
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_send, args=(s, server.url + path, count, latencies, statuses))
        for s in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    name = kind if clients == 1 else f"{kind}, {clients} clients at once"
    return Row(
        code=code,
        kind=name,
        count=len(latencies),
        seconds=seconds,
        latencies=latencies,
        cpu_s=process_cpu_s(server.process.pid) - cpu_before,
        statuses=statuses,
    )


def run_code(code_dir: Path, label: str, count: int, clients: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        server = daphne_prepare(Path(tmp) / "data", code_dir=code_dir)
        server.start()
        try:
            rows = [measure(server, label, kind, count, 1) for kind in KINDS]
            rows.append(measure(server, label, "DRF list (Token)", count, clients))
            return rows
        finally:
            server.stop()


def _commit(code_dir: Path) -> str:
    """The checkout's commit, ``+`` when its files differ from it."""

    def git(*args: str) -> str:
        found = subprocess.run(
            ["git", "-C", str(code_dir), *args], capture_output=True, text=True, check=False
        )
        return found.stdout.strip()

    return (git("rev-parse", "--short", "HEAD") or "?") + ("+" if git("status", "-s") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout, measured first")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    codes = [(BASE_DIR, f"this checkout ({_commit(BASE_DIR)})")]
    if args.before:
        codes.insert(0, (args.before, f"before ({_commit(args.before)})"))
    load = [f"{os.getloadavg()[0]:.2f}"]
    rows: list[Row] = []
    for _ in range(args.rounds):
        for code_dir, label in codes:
            rows.extend(run_code(code_dir, label, args.requests, args.clients))
            load.append(f"{os.getloadavg()[0]:.2f}")
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {args.rounds} rounds "
        f"alternating; load average (1 min) before and after each: {' -> '.join(load)}.",
        "",
        "| code | request | n | requests/s | p50 ms | p99 ms | web CPU ms/request | answers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [row.line() for row in sorted(rows, key=lambda r: (r.kind, r.code))]
    summary = "\n".join(lines)
    print(summary)
    if args.out:
        previous = args.out.read_text() if args.out.exists() else ""
        title = "# The console's Django requests (benchmarks/console_requests.py)\n\n"
        previous = previous.removeprefix(title)
        args.out.write_text(title + summary + "\n\n" + previous)


if __name__ == "__main__":
    main()
