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
) -> Result:
    """``clients`` at once, ``reports`` in all, ``per_request`` per POST, as fast as answered."""
    result = Result()
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
