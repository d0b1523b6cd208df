"""Request bodies against the real web process: an anonymous upload, a lying length, 2 GiB.

Starts the web process as ``make run`` does (the Procfile's ``web`` command, on loopback, with a
fresh data folder for each scenario) and measures:

a. an anonymous 300 MB multipart POST to the upload URL: the answer, the time to it, how much
   of the body the client had sent by then, the web process's peak memory growth, and
   ``/healthz`` meanwhile;
b. ``Content-Length: 5368709120`` and no body: the time to the answer;
c. an Operator's upload of a real video just under the 2 GiB limit (an MJPEG AVI that OpenCV
   writes into a temporary folder, deleted afterwards): the answer, the web process's peak
   growth, the throughput, and ``/healthz`` and the admin's login page meanwhile.

``--before DIR`` runs the same scenarios first against another checkout of the code, for a
before/after table (``git archive main | tar -x -C DIR``; it uses this checkout's virtualenv). A
web process that grows past ``--memory-cap-mb`` is killed and reported so: the machine is
shared, and the old code's 2 GiB upload would take tens of GB.

    .venv/bin/python -m benchmarks.request_bodies --before /tmp/main \\
        --out benchmarks/results/request_bodies.md
"""

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import requests

from broadcastops.tests.daphne_server import BASE_DIR, DaphneServer, daphne_prepare

UPLOAD_PATH = "/api/live-monitoring/upload-video?camera_id=bench"
MIB = 1024 * 1024


@dataclass
class Outcome:
    scenario: str
    code: str
    answer: str = "-"
    answer_s: float | None = None
    sent_mb: float = 0.0
    growth_mb: float | None = None
    note: str = ""
    others: dict[str, list[float]] = field(default_factory=dict)


class MemoryWatch(threading.Thread):
    """Samples the web process's RSS; kills it past ``cap_mb`` (its peak is then the cap)."""

    def __init__(self, server: DaphneServer, cap_mb: float):
        super().__init__(daemon=True)
        self.server, self.cap_mb = server, cap_mb
        self.baseline = server.rss_mb()
        self.peak = self.baseline
        self.killed_after: float | None = None
        self.started_at = time.monotonic()
        self._stop_event = threading.Event()
        server.rss_peak_reset()

    def run(self):
        while not self._stop_event.wait(0.02):
            try:
                rss = self.server.rss_mb()
            except (OSError, AssertionError):
                return
            self.peak = max(self.peak, rss)
            if rss > self.cap_mb:
                self.killed_after = time.monotonic() - self.started_at
                os.kill(self.server.process.pid, signal.SIGKILL)
                return

    def growth_mb(self) -> float:
        self._stop_event.set()
        self.join()
        if self.killed_after is None:
            with contextlib.suppress(OSError, AssertionError):
                self.peak = max(self.peak, self.server.rss_peak_mb())
        return self.peak - self.baseline


class Others(threading.Thread):
    """Other clients' requests, one every 100 ms in turn, timed, until stopped."""

    def __init__(self, server: DaphneServer, paths: list[str]):
        super().__init__(daemon=True)
        self.server, self.paths = server, paths
        self.latencies: dict[str, list[float]] = {path: [] for path in paths}
        self.stop_event = threading.Event()

    def run(self):
        turn = 0
        while not self.stop_event.is_set():
            path = self.paths[turn % len(self.paths)]
            turn += 1
            started = time.monotonic()
            try:
                requests.get(self.server.url + path, timeout=60)
            except requests.RequestException:
                self.latencies[path].append(float("inf"))
            else:
                self.latencies[path].append(time.monotonic() - started)
            self.stop_event.wait(0.1)

    def finish(self) -> dict[str, list[float]]:
        self.stop_event.set()
        self.join()
        return self.latencies


def multipart(path_or_size: Path | int, boundary: str) -> tuple[bytes, bytes, int]:
    size = path_or_size if isinstance(path_or_size, int) else path_or_size.stat().st_size
    preamble = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="video"; filename="bench.avi"\r\n'
        "Content-Type: video/x-msvideo\r\n\r\n"
    ).encode()
    epilogue = f"\r\n--{boundary}--\r\n".encode()
    return preamble, epilogue, len(preamble) + size + len(epilogue)


def exchange(server, head: bytes, body, *, timeout_s: float) -> tuple[str, float | None, int]:
    """Send ``head`` then ``body`` (bytes pieces, a file, or an int: that many bytes) on one
    thread while another reads; (the status line or why none, seconds to it, bytes sent).
    """
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout_s)
    sent = [0]

    def send():
        block = os.urandom(MIB)
        try:
            sock.sendall(head)
            for piece in body:
                if isinstance(piece, Path):
                    with piece.open("rb") as handle:
                        sent[0] += sock.sendfile(handle)
                elif isinstance(piece, int):
                    for start in range(0, piece, MIB):
                        chunk = block[: min(MIB, piece - start)]
                        sock.sendall(chunk)
                        sent[0] += len(chunk)
                else:
                    sock.sendall(piece)
                    sent[0] += len(piece)
        except OSError:
            pass  # the server answered and closed, or went away

    sender = threading.Thread(target=send, daemon=True)
    started = time.monotonic()
    sender.start()
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return f"closed, no answer, after {time.monotonic() - started:.1f} s", None, sent[0]
            data += chunk
        return data.split(b"\r\n", 1)[0].decode("latin-1"), time.monotonic() - started, sent[0]
    except TimeoutError:
        return f"no answer in {timeout_s:.0f} s", None, sent[0]
    except ConnectionResetError:
        return f"connection reset after {time.monotonic() - started:.1f} s", None, sent[0]
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        sender.join(10)


def upload_head(server, length: int, *, token: str = "") -> bytes:
    auth = f"Authorization: Token {token}\r\n" if token else ""
    return (
        f"POST {UPLOAD_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{auth}"
        f"Content-Type: multipart/form-data; boundary=benchbound\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def with_server(code: str, code_dir: Path, work: Path, run) -> Outcome:
    data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=work))
    server = daphne_prepare(data_dir, code_dir=code_dir, LOG_LEVEL="ERROR")
    server.start()
    try:
        return run(server)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def anonymous_upload(code, code_dir, work, *, size_mb: int, cap_mb: float) -> Outcome:
    def run(server):
        outcome = Outcome(f"a. anonymous {size_mb} MiB multipart POST to the upload URL", code)
        preamble, epilogue, length = multipart(size_mb * MIB, "benchbound")
        watch = MemoryWatch(server, cap_mb)
        watch.start()
        others = Others(server, ["/healthz"])
        others.start()
        status, answer_s, sent = exchange(
            server, upload_head(server, length), [preamble, size_mb * MIB, epilogue], timeout_s=120
        )
        time.sleep(1.0)  # and a second after the answer
        outcome.others = others.finish()
        outcome.growth_mb = watch.growth_mb()
        outcome.answer, outcome.answer_s, outcome.sent_mb = status, answer_s, sent / MIB
        if watch.killed_after is not None:
            outcome.note = f"killed at the {cap_mb:.0f} MB cap after {watch.killed_after:.1f} s"
        return outcome

    return with_server(code, code_dir, work, run)


def lying_length(code, code_dir, work) -> Outcome:
    def run(server):
        outcome = Outcome("b. Content-Length: 5368709120, no body", code)
        status, answer_s, _ = exchange(server, upload_head(server, 5368709120), [], timeout_s=75)
        outcome.answer, outcome.answer_s = status, answer_s
        return outcome

    return with_server(code, code_dir, work, run)


def big_upload(code, code_dir, work, *, video: Path, cap_mb: float) -> Outcome:
    def run(server):
        size_mb = video.stat().st_size / MIB
        outcome = Outcome(f"c. Operator's upload of a {size_mb:,.0f} MiB video", code)
        preamble, epilogue, length = multipart(video, "benchbound")
        # Warm the upload path (imports, OpenCV), so the growth below is the body's.
        small = video.with_name("warm.avi")
        with small.open("rb") as handle:
            requests.post(
                server.url + UPLOAD_PATH, files={"video": handle}, headers=server.auth, timeout=60
            )
        watch = MemoryWatch(server, cap_mb)
        watch.start()
        others = Others(server, ["/healthz", "/admin/login/"])
        others.start()
        status, answer_s, sent = exchange(
            server,
            upload_head(server, length, token=server.token),
            [preamble, video, epilogue],
            timeout_s=600,
        )
        outcome.others = others.finish()
        outcome.growth_mb = watch.growth_mb()
        outcome.answer, outcome.answer_s, outcome.sent_mb = status, answer_s, sent / MIB
        if watch.killed_after is not None:
            outcome.note = f"killed at the {cap_mb:.0f} MB cap after {watch.killed_after:.1f} s"
        elif answer_s:
            outcome.note = f"{size_mb / answer_s:,.0f} MiB/s, upload to answer"
        return outcome

    return with_server(code, code_dir, work, run)


def video_write(path: Path, *, size_bytes: int) -> Path:
    """A real MJPEG video of about ``size_bytes`` (never more): 1080p noise, 30 fps."""
    width, height = 1920, 1080
    rng = np.random.default_rng(7)
    pool = [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(8)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (width, height))
    assert writer.isOpened()
    frame_bytes, index = 0, 0
    while True:
        size = path.stat().st_size
        if index and size + 3 * frame_bytes > size_bytes:
            break
        writer.write(pool[index % len(pool)])
        index += 1
        if index == 16:
            frame_bytes = path.stat().st_size // 12
    writer.release()
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    assert capture.isOpened() and capture.read()[0], "OpenCV cannot read the video back"
    capture.release()
    assert path.stat().st_size <= size_bytes
    small = cv2.VideoWriter(
        str(path.with_name("warm.avi")), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (320, 240)
    )
    for frame in range(10):
        small.write(np.full((240, 320, 3), frame * 20, np.uint8))
    small.release()
    return path


def _latency(values: list[float]) -> str:
    if not values:
        return "none"
    finite = [v for v in values if v != float("inf")]
    failed = len(values) - len(finite)
    text = (
        f"{len(values)}: {statistics.median(finite) * 1000:,.0f} / {max(finite) * 1000:,.0f} ms"
        if finite
        else f"{len(values)}: -"
    )
    return text + (f", {failed} failed" if failed else "")


def report(outcomes: list[Outcome], *, load_before: str, load_after: str, started: str) -> str:
    lines = [
        "# Request bodies (benchmarks/request_bodies.py)",
        "",
        f"Run {started}, the web process as the Procfile starts it, on loopback; a fresh data "
        f"folder per row. Machine: {os.cpu_count()} cores, shared; load average before "
        f"{load_before}, after {load_after}. 'before' is main's code, 'after' this branch.",
        "",
        "| scenario | code | answer | time to answer | body sent by then | web process peak "
        "growth | /healthz meanwhile (n: p50 / max) | admin login page meanwhile | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    order = {"before": 0, "after": 1}
    for o in sorted(outcomes, key=lambda o: (o.scenario[:2], order.get(o.code, 2))):
        answer_s = f"{o.answer_s:,.3f} s" if o.answer_s is not None else "-"
        growth = f"{o.growth_mb:,.0f} MB" if o.growth_mb is not None else "-"
        sent = f"{o.sent_mb:,.0f} MiB" if o.sent_mb else "-"
        healthz = _latency(o.others.get("/healthz", [])) if o.others else "-"
        admin = _latency(o.others.get("/admin/login/", [])) if "/admin/login/" in o.others else "-"
        lines.append(
            f"| {o.scenario} | {o.code} | {o.answer} | {answer_s} | {sent} | {growth} | "
            f"{healthz} | {admin} | {o.note} |"
        )
    return "\n".join(lines) + "\n"


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--anonymous-mb", type=int, default=300)
    parser.add_argument(
        "--upload-bytes", type=int, default=2 * 1024**3 - 4 * MIB, help="the real video's size"
    )
    parser.add_argument("--memory-cap-mb", type=float, default=8000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--work", type=Path, help="where the video and data folders go")
    args = parser.parse_args()

    started = time.strftime("%Y-%m-%d %H:%M")
    load_before = _load()
    work = Path(tempfile.mkdtemp(prefix="request-bodies-", dir=args.work))
    codes = ([("before", args.before.resolve())] if args.before else []) + [("after", BASE_DIR)]
    outcomes = []
    try:
        print(f"writing a {args.upload_bytes / MIB:,.0f} MiB video under {work} ...", flush=True)
        clock = time.monotonic()
        video = video_write(work / "bench.avi", size_bytes=args.upload_bytes)
        print(f"  {time.monotonic() - clock:.0f} s", flush=True)
        for code, code_dir in codes:
            cap = args.memory_cap_mb
            for outcome in (
                anonymous_upload(code, code_dir, work, size_mb=args.anonymous_mb, cap_mb=cap),
                lying_length(code, code_dir, work),
                big_upload(code, code_dir, work, video=video, cap_mb=cap),
            ):
                print(outcome, flush=True)
                outcomes.append(outcome)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(outcomes, load_before=load_before, load_after=_load(), started=started)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
