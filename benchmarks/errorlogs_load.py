"""A lean HTTP/1.1 load client for the report endpoint: asyncio, keep-alive, one source address
per client (127.0.x.y, so the per-address throttle sees 500 viewers, not one).

Two ways to load:

- ``closed``: each client sends its share one request after the other, as fast as the
  server answers (the outage burst: every player at once);
- ``open``: requests leave at a fixed rate whatever the answers, spread over the clients;
  a request's latency counts from when it was due, so a server that falls behind sees its
  queue in the figures (no coordinated omission).

Every report carries its own ``reportId``; the caller checks afterwards that every report
answered 202 is in the table and in the file.
"""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
STREAMS = ["stitched", "cam-a", "cam-b", "cam-c", "studio-1", "studio-2", "pgm", "pvw"]
TYPES = ["fetch_error", "whep_post_failed", "connection_failed", "connection_closed"]


def report(client: int, n: int) -> dict:
    stream = STREAMS[(client + n) % len(STREAMS)]
    kind = TYPES[(client + n) % len(TYPES)]
    return {
        "timestamp": "2026-01-08T12:34:56.789Z",
        "streamId": stream,
        "errorType": kind,
        "errorMessage": "WHEP POST failed: 502 Bad Gateway"
        if kind == "whep_post_failed"
        else "Failed to fetch",
        "statusCode": 502 if kind == "whep_post_failed" else None,
        "whepUrl": f"http://10.20.0.10:8889/{stream}/whep",
        "userAgent": UA,
        "clientInfo": {
            "browserName": "Chrome",
            "browserVersion": "120.0",
            "os": "Linux x86_64",
            "screenResolution": "1920x1080",
        },
        "reportId": str(uuid.uuid4()),
        "clientId": f"bench-{client}",
    }


def source_address(client: int) -> str:
    return f"127.0.{1 + client // 250}.{1 + client % 250}"


@dataclass
class Result:
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    accepted_ids: set[str] = field(default_factory=set)
    sent_ids: set[str] = field(default_factory=set)
    reports_accepted: int = 0
    started: float = 0.0
    finished: float = 0.0

    def note(self, status: int, latency_s: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies_s.append(latency_s)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def duration_s(self) -> float:
        return max(self.finished - self.started, 1e-9)

    @property
    def rate(self) -> float:
        """Reports answered 202 per second."""
        return self.reports_accepted / self.duration_s

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Connection:
    def __init__(self, host: str, port: int, client: int, path: str, origin: str):
        self.host, self.port, self.client, self.path, self.origin = host, port, client, path, origin
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=(source_address(self.client), 0)
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, body: bytes, timeout_s: float) -> int:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Origin: {self.origin}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        head_in = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout_s)
        lines = head_in.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await asyncio.wait_for(self.reader.readexactly(length), timeout_s)
        if close:
            self.close()
        return status


async def _send(conn: Connection, items: list[dict], due: float, result: Result, timeout_s: float):
    ids = [item["reportId"] for item in items]
    body = json.dumps(items if len(items) > 1 else items[0]).encode()
    result.sent_ids.update(ids)
    try:
        status = await conn.post(body, timeout_s)
    except TimeoutError:
        result.error("timeout")
        conn.close()
        return
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        result.error(type(exc).__name__)
        conn.close()
        return
    result.note(status, time.monotonic() - due)
    if status == 202:
        result.accepted_ids.update(ids)
        result.reports_accepted += len(items)


async def closed_loop(
    *,
    host: str,
    port: int,
    path: str,
    origin: str,
    clients: int,
    reports: int,
    per_request: int,
    timeout_s: float = 30.0,
    stop: asyncio.Event | None = None,
    result: Result | None = None,
) -> Result:
    """``clients`` at once, ``reports`` in all, ``per_request`` per POST, as fast as answered
    (into ``result`` if given: the caller can watch it fill)."""
    result = Result() if result is None else result
    requests_total = reports // per_request
    shares = [
        requests_total // clients + (1 if c < requests_total % clients else 0)
        for c in range(clients)
    ]
    conns = [Connection(host, port, c, path, origin) for c in range(clients)]
    await asyncio.gather(*(c.open() for c in conns), return_exceptions=True)

    async def client(conn: Connection, count: int) -> None:
        for n in range(count):
            if stop is not None and stop.is_set():
                return
            items = [report(conn.client, n * per_request + k) for k in range(per_request)]
            await _send(conn, items, time.monotonic(), result, timeout_s)

    result.started = time.monotonic()
    await asyncio.gather(*(client(conn, share) for conn, share in zip(conns, shares, strict=True)))
    result.finished = time.monotonic()
    for conn in conns:
        conn.close()
    return result


async def open_loop(
    *,
    host: str,
    port: int,
    path: str,
    origin: str,
    clients: int,
    rate_per_s: float,
    duration_s: float,
    per_request: int,
    timeout_s: float = 30.0,
) -> Result:
    """Requests due every ``1/rate_per_s`` seconds for ``duration_s``, round-robin over
    ``clients`` connections; latency from when each was due."""
    result = Result()
    conns = [Connection(host, port, c, path, origin) for c in range(clients)]
    await asyncio.gather(*(c.open() for c in conns), return_exceptions=True)
    queues: list[asyncio.Queue[float | None]] = [asyncio.Queue() for _ in conns]

    async def client(index: int) -> None:
        conn, queue, n = conns[index], queues[index], 0
        while (due := await queue.get()) is not None:
            items = [report(conn.client, n * per_request + k) for k in range(per_request)]
            n += 1
            await _send(conn, items, due, result, timeout_s)

    workers = [asyncio.create_task(client(i)) for i in range(clients)]
    total = int(rate_per_s * duration_s)
    result.started = start = time.monotonic()
    for i in range(total):
        due = start + i / rate_per_s
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queues[i % clients].put_nowait(due)
    for queue in queues:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    result.finished = time.monotonic()
    for conn in conns:
        conn.close()
    return result


# --- the burst benchmark -------------------------------------------------------------------
#
#     .venv/bin/python -m benchmarks.errorlogs_load --out benchmarks/results/errorlogs_load.md
#
# Web processes as ``make run`` starts them (the Procfile's ``web`` command, embedded mode:
# SQLite WAL, fsync'd JSON Lines), one per design unless --same-process: the web process's own
# endpoint (errorlogs.endpoint, group-commit writer) at REPORT_PATH, and the plain DRF view
# (one transaction and one fsync per request) at PLAIN_PATH. For each scenario: the figures, the
# admin's answers meanwhile, and afterwards every report answered 202 looked up in the table
# and in the file. Last, a fresh process stopped with SIGTERM mid-burst.

REPORT_PATH = "/api/v1/error-logs/mediamtx"
PLAIN_PATH = "/bench/plain/error-logs/mediamtx"  # benchmarks/errorlogs_plain_urls.py
ADMIN_PATH = "/admin/errorlogs/errorreport/"


@dataclass
class Scenario:
    name: str
    loop: str  # closed | open
    per_request: int
    reports: int = 0  # closed
    rate_per_s: float = 0.0  # open: reports per second
    duration_s: float = 0.0  # open


SCENARIOS = [
    Scenario("burst, single reports", "closed", 1, reports=10_000),
    Scenario("burst, arrays of 100", "closed", 100, reports=50_000),
    Scenario("1,000 single reports/s for 10 s", "open", 1, rate_per_s=1000, duration_s=10),
    Scenario(
        "10,000 reports/s in arrays of 100 for 10 s", "open", 100, rate_per_s=10_000, duration_s=10
    ),
]


class AdminProbe:
    """GETs the admin's report list every ``interval_s`` while a scenario runs."""

    def __init__(self, url: str, cookie: str, interval_s: float = 0.25):
        import threading

        self.url, self.cookie, self.interval_s = url, cookie, interval_s
        self.latencies_ms: list[float] = []
        self.failures: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import requests

        session = requests.Session()
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                answer = session.get(
                    self.url, headers={"Cookie": self.cookie}, timeout=10, allow_redirects=False
                )
                if answer.status_code == 200:
                    self.latencies_ms.append((time.monotonic() - began) * 1000)
                else:
                    key = f"HTTP {answer.status_code}"
                    self.failures[key] = self.failures.get(key, 0) + 1
            except Exception as exc:  # counted, shown in the table
                self.failures[type(exc).__name__] = self.failures.get(type(exc).__name__, 0) + 1
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - began)))

    def __enter__(self) -> "AdminProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(15)

    def summary(self) -> str:
        if not self.latencies_ms:
            return f"none answered {self.failures}"
        ordered = sorted(self.latencies_ms)
        text = f"{len(ordered)}: p50 {ordered[len(ordered) // 2]:.0f} / max {ordered[-1]:.0f} ms"
        return text + (f", failed {self.failures}" if self.failures else "")


def stored(data_dir) -> tuple[set[str], list[str]]:
    """The report ids in the table, and in the day files (a list: a twice-written line shows)."""
    import sqlite3
    from pathlib import Path

    with sqlite3.connect(Path(data_dir) / "broadcastops.sqlite3") as db:
        rows = {
            str(uuid.UUID(r[0])) for r in db.execute("SELECT report_id FROM errorlogs_errorreport")
        }
    ids: list[str] = []
    for path in (Path(data_dir) / "logs" / "mediamtx_errors").glob("*.jsonl"):
        with path.open() as lines:
            ids += [json.loads(line)["reportId"] for line in lines]
    return rows, ids


def loss(result: Result, rows: set[str], lines: list[str]) -> str:
    missing_rows = len(result.accepted_ids - rows)
    missing_lines = len(result.accepted_ids - set(lines))
    doubled = len(lines) - len(set(lines))
    return f"{missing_rows} / {missing_lines} / {doubled}"


def run(scenario: Scenario, *, port: int, path: str, origin: str, clients: int) -> Result:
    common = {"host": "127.0.0.1", "port": port, "path": path, "origin": origin, "clients": clients}
    if scenario.loop == "closed":
        return asyncio.run(
            closed_loop(**common, reports=scenario.reports, per_request=scenario.per_request)
        )
    return asyncio.run(
        open_loop(
            **common,
            rate_per_s=scenario.rate_per_s / scenario.per_request,
            duration_s=scenario.duration_s,
            per_request=scenario.per_request,
        )
    )


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux ``/proc``)."""
    import os

    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, *, idle_cpu: float = 0.05, timeout_s: float = 60.0) -> float:
    """Wait until the web process is idle (under ``idle_cpu`` of a core over half a second,
    at least a second in all, at most ``timeout_s``); the seconds waited.

    The plain view's requests that daphne answered 503 (its ``http_timeout``) may still run in
    Django's threads when their row ends; each row starts on an idle process, so no row
    carries the one before. (In the run of 20:38 UTC no row needed more than 2 s, yet the
    endpoint's row after the plain single burst still stalled in its first 3 s: the collector
    freeing the plain view's garbage, gone since f6c40bf; README, "Figures".)
    """
    started = time.monotonic()
    time.sleep(0.5)
    while time.monotonic() - started < timeout_s:
        before = process_cpu_s(pid)
        time.sleep(0.5)
        if process_cpu_s(pid) - before < idle_cpu * 0.5:
            break
    return time.monotonic() - started


def row(name: str, design: str, result: Result, admin: str, lost: str, cpu: str) -> str:
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(result.statuses.items()))
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(result.errors.items())) or "-"
    return (
        f"| {name} | {design} | {result.reports_accepted:,} | "
        f"{result.rate:,.0f} | {result.percentile_ms(0.5):.0f} | "
        f"{result.percentile_ms(0.99):.0f} | {statuses} | {errors} | {admin} | {lost} | {cpu} |"
    )


def sigterm_mid_burst(data_dir, *, clients: int, reports: int, after_accepted: int) -> list[str]:
    import signal

    from broadcastops.tests.daphne_server import daphne_prepare

    server = daphne_prepare(data_dir, CORS_ALLOWED_ORIGINS="http://players.example")
    server.start()
    result = Result()
    signalled_after: list[int] = []

    async def burst() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            closed_loop(
                host="127.0.0.1",
                port=server.port,
                path=REPORT_PATH,
                origin="http://players.example",
                clients=clients,
                reports=reports,
                per_request=1,
                timeout_s=15,
                stop=stop,
                result=result,
            )
        )
        while not task.done():  # signal once enough were accepted, the burst still going
            await asyncio.sleep(0.01)
            if not signalled_after and result.reports_accepted >= after_accepted:
                signalled_after.append(result.reports_accepted)
                server.process.send_signal(signal.SIGTERM)
                stop.set()
        await task

    asyncio.run(burst())
    server.process.wait(30)
    rows, lines = stored(data_dir)
    answered = sum(result.statuses.values())
    return [
        f"SIGTERM after {signalled_after[0] if signalled_after else 0:,} accepted; exit code "
        f"{server.process.returncode}; answered {answered:,} ({result.statuses}), "
        f"connection errors {dict(result.errors)}.",
        f"Answered 202: {len(result.accepted_ids):,} reports; of those missing from the table "
        f"{len(result.accepted_ids - rows)}, from the file "
        f"{len(result.accepted_ids - set(lines))}; lines written twice "
        f"{len(lines) - len(set(lines))}; rows {len(rows):,}, lines {len(lines):,} "
        f"(kept but not answered 202: {len(rows - result.accepted_ids):,}, the answers lost "
        f"with the connections the stop closed).",
    ]


def main() -> None:
    import argparse
    import contextlib
    import os
    import resource
    import subprocess
    import tempfile
    from datetime import UTC, datetime
    from pathlib import Path

    from broadcastops.tests.daphne_server import daphne_prepare

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", help="run the scenarios whose name contains this")
    parser.add_argument(
        "--endpoint-only", action="store_true", help="leave out the plain DRF view (no ratios)"
    )
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="serve both designs from one web process (the plain view's garbage then taxes "
        "the endpoint's rows: README)",
    )
    parser.add_argument("--no-sigterm", action="store_true", help="leave out the SIGTERM run")
    parser.add_argument(
        "--arrays-rate",
        type=int,
        help="reports/s offered in the open arrays row instead of 10,000 (its headroom)",
    )
    parser.add_argument(
        "--no-admin", action="store_true", help="do not poll the admin's list meanwhile"
    )
    args = parser.parse_args()
    scenarios = list(SCENARIOS)
    if args.arrays_rate:
        scenarios[3] = Scenario(
            f"{args.arrays_rate:,} reports/s in arrays of 100 for 10 s",
            "open",
            100,
            rate_per_s=args.arrays_rate,
            duration_s=10,
        )
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20_000), hard))

    load_before = os.getloadavg()
    started = datetime.now(UTC)
    origin = "http://players.example"
    lines = [
        "| scenario | design | reports 202 | reports/s | p50 ms | p99 ms | answers | "
        "connection errors | admin list meanwhile (n: p50 / max) | "
        "lost: table / file / lines twice | CPU s: server / load client / wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios: list[str] = []
    settles: list[str] = []  # rows after which the process took over 2 s to go idle
    with tempfile.TemporaryDirectory(prefix="errorlogs-bench-") as tmp:
        # Each design on a web process of its own, so that neither's rows carry the other's
        # threads or garbage (until f6c40bf the plain view's garbage cost the endpoint's rows
        # in the same process a 0.7-1.3 s collection: README, "Figures").
        endpoint_server = daphne_prepare(
            Path(tmp) / "data",
            DJANGO_SETTINGS_MODULE="benchmarks.errorlogs_plain_settings",
            CORS_ALLOWED_ORIGINS=origin,
        )
        distinct = [endpoint_server]
        if not args.same_process and not args.endpoint_only:
            distinct.append(
                daphne_prepare(
                    Path(tmp) / "plain",
                    DJANGO_SETTINGS_MODULE="benchmarks.errorlogs_plain_settings",
                    CORS_ALLOWED_ORIGINS=origin,
                )
            )
        servers = {"endpoint + group commit": distinct[0], "plain DRF view": distinct[-1]}
        for server in distinct:
            server.start()
        try:
            for server in distinct:
                assert server.process is not None
                settle(server.process.pid)
            for scenario in scenarios:
                if args.only and args.only not in scenario.name:
                    continue
                measured = {}
                designs = [("endpoint + group commit", REPORT_PATH)]
                if not args.endpoint_only:
                    designs.append(("plain DRF view", PLAIN_PATH))
                for design, path in designs:
                    server = servers[design]
                    assert server.process is not None
                    server_cpu, client_cpu = process_cpu_s(server.process.pid), time.process_time()
                    admin_probe = (
                        contextlib.nullcontext(None)
                        if args.no_admin
                        else AdminProbe(server.url + ADMIN_PATH, server.cookie)
                    )
                    with admin_probe as admin:
                        result = run(
                            scenario,
                            port=server.port,
                            path=path,
                            origin=origin,
                            clients=args.clients,
                        )
                    cpu = (
                        f"{process_cpu_s(server.process.pid) - server_cpu:.1f} / "
                        f"{time.process_time() - client_cpu:.1f} / {result.duration_s:.1f}"
                    )
                    # The writer's last batch, and whatever the design left running.
                    settled_s = settle(server.process.pid)
                    if settled_s > 2:
                        settles.append(f"{scenario.name}, {design}: {settled_s:.1f} s")
                    rows, ids = stored(server.data_dir)
                    lines.append(
                        row(
                            scenario.name,
                            design,
                            result,
                            admin.summary() if admin is not None else "not polled",
                            loss(result, rows, ids),
                            cpu,
                        )
                    )
                    measured[design] = result
                    print(lines[-1], flush=True)
                if args.endpoint_only:
                    continue
                ours, plain = measured["endpoint + group commit"], measured["plain DRF view"]
                ratios.append(
                    f"- {scenario.name}: reports/s {ours.rate:,.0f} vs {plain.rate:,.0f} "
                    f"(x{ours.rate / max(plain.rate, 1e-9):.1f}); "
                    f"p99 {ours.percentile_ms(0.99):,.0f} vs {plain.percentile_ms(0.99):,.0f} ms"
                )
        finally:
            for server in distinct:
                server.stop()
        sigterm = (
            ["not run (--no-sigterm)"]
            if args.no_sigterm
            else sigterm_mid_burst(
                Path(tmp) / "sigterm", clients=args.clients, reports=10_000, after_accepted=3_000
            )
        )
        print("\n".join(sigterm), flush=True)
    load_after = os.getloadavg()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    text = "\n".join(
        [
            "# Player error reports: the outage burst (benchmarks/errorlogs_load.py)",
            "",
            f"Run {started:%Y-%m-%d %H:%M} UTC at {commit}: "
            + (
                "one web process for both designs"
                if len(distinct) == 1
                else "a web process per design"
            )
            + " as the Procfile starts it "
            f"(embedded mode: SQLite WAL, JSON Lines fsync'd), loopback, {args.clients} clients "
            "(each its own keep-alive connection and source address 127.0.x.y). Machine: 2 cores, "
            "shared with other engineers; load average before "
            f"{', '.join(f'{v:.2f}' for v in load_before)}, after "
            f"{', '.join(f'{v:.2f}' for v in load_after)}.",
            "",
            "'endpoint + group commit' is the web process's own endpoint (errorlogs.endpoint: "
            "validated in the event loop, kept by the writer thread in batches: one INSERT, one "
            "fsync per batch); 'plain DRF view' is errorlogs.api.ErrorReportCreateApi mounted at "
            f"{PLAIN_PATH} (same settings, validation and reports_store, one transaction "
            "and one fsync per request, in Django's thread). Burst: every client sends its share "
            "one request after the other, as fast as answered. Open: requests leave at the fixed "
            "rate whatever the answers; latency counts from when each was due. 'lost' looks up "
            "every report answered 202 in the table and in the day files afterwards. 'CPU s': "
            "the CPU seconds the web process and this load client (one asyncio process, "
            "its admin probe thread included) used during the scenario, beside its wall time: "
            "whether the client, not the server, was the limit.",
            "",
            *lines,
            "",
            "Ratios (endpoint vs plain view):",
            "",
            *ratios,
            "",
            "Each row started on an idle web process; after these it took over 2 s to go idle "
            "(the plain view's requests daphne had answered 503 still running):",
            "",
            *([f"- {line}" for line in settles] or ["- none"]),
            "",
            "## SIGTERM mid-burst (a fresh process, single reports)",
            "",
            *[f"- {line}" for line in sigterm],
            "",
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
