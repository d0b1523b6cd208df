"""Camera-wall benchmark: many cameras to many browsers, the cost per camera, the alarms' cost.

Usage (under the shared lock, bounded in time):
  flock /work/wt/bench.lock .venv/bin/python -m benchmarks.streaming_wall \
      [--scenarios cpu,threads,wall,full] [--modes embedded,scaled] [--cameras 4,8,16] \
      [--browsers 20] [--full-cameras 1,4,8,12] [--full-viewers 20] [--seconds 10] [--warmup 4]

Scenarios:
- ``cpu``: this process alone (its CPU, FFmpeg's decoding threads included), one 1280x720
  30 fps H.264 source: the CPU of each step a producer takes per frame (``grab()``, the
  conversion ``retrieve()`` adds, the alarm judgement on a 64x36 copy, the JPEG encode at 640
  and at 1280 wide), and from them the CPU of one camera shown as a wall tile (640x360 at 15:
  30 grabs, 15 conversions and encodes and 2 alarm samples a second), at full size (1280x720
  at 30) and unwatched (30 grabs and 2 samples): how many cameras one core carries.
- ``producers``: ``--cameras`` producers in this process with a sink that demands the wall
  rendition of each, no web server: whether they share the CPU evenly when it is short.
- ``threads``: 16 captures of the source decoding as fast as they can on threads of their own,
  with one FFmpeg thread each and with FFmpeg's default (a pool per capture): the machine's
  decoding capacity in 30 frames/s cameras.
- ``wall``: ``--cameras`` cameras (a comma-separated sweep), each playing its own upload of
  the source, shown on ``--browsers`` simulated browsers, each with ONE wall socket carrying
  every tile at 640x360 15 frames/s and acknowledging per tile once per window as the page
  does.
- ``full``: ``--full-cameras`` cameras (a sweep) at 1280x720 30 frames/s, ``--full-viewers``
  viewers each on the per-camera socket.

Modes: ``embedded`` (producers in the web process) and ``scaled`` (Redis and two
``stream_worker`` processes). Nothing is pinned: the web process, the workers and the client
process (which holds every browser) share the machine's cores, and the load average is
recorded with every row. Reported: frames per second of each tile of each browser (slowest,
median), latency from the end of the frame's encode to its receipt (the time travels in the
JPEG's comment segment, same host clock), the CPU of the web process and of the workers.

The source is made with ffmpeg's testsrc2 (H.264) when ffmpeg is on PATH, like
``benchmarks/streaming_fanout.py``.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadcastops.settings")

from benchmarks.streaming_fanout import CLK_TCK, WEB, make_source  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "streaming_wall.md"


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- the per-frame costs (in this process) --------------------------------------------------
def cpu_scenario(source: Path, frames: int = 240) -> dict:
    import cv2

    from streaming.alarms import AlarmThresholds, PictureWatch
    from streaming.media import frame_encode

    def thread_cpu(fn, count):
        # The process's CPU, not the thread's: FFmpeg decodes on threads of its own.
        start = time.process_time()
        for _ in range(count):
            fn()
        return (time.process_time() - start) / count

    cap = cv2.VideoCapture(str(source), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    grab = thread_cpu(cap.grab, frames)
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    read = thread_cpu(lambda: cap.read(), frames)
    ok, image = cap.read()
    cap.release()
    assert ok
    thresholds = AlarmThresholds(
        frozen_s=5, black_s=5, lost_s=5, frozen_diff=1.0, black_luma=16, sample_fps=2
    )
    watch = PictureWatch(camera_id="bench", session_id="s", thresholds=thresholds)
    clock = iter(range(10**9))
    judge = thread_cpu(lambda: watch.observe(image, float(next(clock))), frames)
    encode_640 = thread_cpu(lambda: frame_encode(image, width=640, quality=85), frames // 2)
    encode_1280 = thread_cpu(lambda: frame_encode(image, width=0, quality=85), frames // 2)
    retrieve = max(0.0, read - grab)
    sample_fps = 2
    per_camera = {
        "wall tile 640x360 @15 (watched)": 30 * grab
        + 15 * (retrieve + encode_640)
        + sample_fps * judge,
        "full 1280x720 @30 (watched)": 30 * (grab + retrieve + encode_1280) + sample_fps * judge,
        "unwatched, alarms sampled 2/s": 30 * grab + sample_fps * (retrieve + judge),
    }
    return {
        "per_frame_ms": {
            "grab (decode)": grab * 1000,
            "retrieve (conversion)": retrieve * 1000,
            "alarm judgement (64x36 copy)": judge * 1000,
            "encode 640 (resize + JPEG)": encode_640 * 1000,
            "encode 1280 (JPEG)": encode_1280 * 1000,
        },
        "per_camera_core_pct": {k: v * 100 for k, v in per_camera.items()},
        "load": _load(),
    }


def threads_scenario(source: Path, *, captures: int = 16, seconds: float = 5.0) -> dict:
    """``captures`` captures of the source decoding (``grab()``) as fast as they can, each on
    a thread of its own, with FFmpeg's default threading and with one thread per capture: the
    decoding capacity of the machine, in frames/s and in 30 frames/s cameras."""
    import threading

    import cv2

    rows = {}
    for label, params in (
        ("1 thread per capture", [cv2.CAP_PROP_N_THREADS, 1]),
        ("FFmpeg's default", []),
    ):
        caps = [cv2.VideoCapture(str(source), cv2.CAP_FFMPEG, params) for _ in range(captures)]
        counts = [0] * captures
        stop = threading.Event()

        def decode(index: int, cap, counts: list[int], stop: threading.Event) -> None:
            while not stop.is_set():
                if not cap.grab():
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
                counts[index] += 1

        threads = [
            threading.Thread(target=decode, args=(i, caps[i], counts, stop))
            for i in range(captures)
        ]
        load_before = _load()
        cpu0, wall0 = time.process_time(), time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        for cap in caps:
            cap.release()
        frames = sum(counts)
        rows[label] = {
            "frames_per_s": frames / wall,
            "cpu_ms_per_frame": 1000 * cpu / max(1, frames),
            "cores_busy": cpu / wall,
            "cameras_at_30": frames / wall / 30,
            "slowest_capture_fps": min(counts) / wall,
            "load": f"{load_before} -> {_load()}",
        }
    return rows


def producers_scenario(source: Path, *, cameras: int = 16, seconds: float = 6.0) -> dict:
    """``cameras`` producers in this process, no web server: a sink that demands the wall
    rendition (640 wide at 15 frames/s) of each and counts what it is handed. Whether the
    producers share what CPU there is evenly (every tile alike) and how many frames each
    slipped or jumped, apart from the fan-out and the sockets."""
    import uuid

    from streaming.media import video_probe
    from streaming.producer import Producer
    from streaming.types import ProducerSpec

    class CountingSink:
        def __init__(self) -> None:
            self.frames = 0

        def demand(self, camera_id: str) -> dict[int, float]:
            return {640: 15.0}

        def publish(self, frame) -> None:
            self.frames += 1

    info = video_probe(source)
    now = time.time()
    producers = []
    for n in range(cameras):
        spec = ProducerSpec(
            session_id=str(uuid.uuid4()),
            camera_id=f"p-{n:02d}",
            upload_id="bench",
            path=str(source),
            fps=info.fps,
            frame_count=info.frame_count,
            width=info.width,
            height=info.height,
            loop=True,
            speed=1.0,
            anchor_at=now,
            anchor_position_s=(n * 1.3) % info.duration_s,
            jpeg_quality=85,
            max_width=0,
        )
        producers.append(Producer(spec, CountingSink(), max_output_fps=30.0))
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)  # as the web process sets it (streaming.runtime)
    for producer in producers:
        producer.start()
    try:
        time.sleep(3.0)  # started, on the clock or behind it
        before = [(p.sink.frames, p.frames_slipped, p.jumps) for p in producers]
        load_before, cpu0, wall0 = _load(), time.process_time(), time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        rates = sorted(
            (p.sink.frames - b[0]) / wall for p, b in zip(producers, before, strict=True)
        )
        slips = sum(p.frames_slipped - b[1] for p, b in zip(producers, before, strict=True))
        jumps = sum(p.jumps - b[2] for p, b in zip(producers, before, strict=True))
    finally:
        for producer in producers:
            producer.halt()
        sys.setswitchinterval(previous)
    return {
        "cameras": cameras,
        "fps_min": rates[0],
        "fps_median": statistics.median(rates),
        "fps_max": rates[-1],
        "cores_busy": cpu / wall,
        "slips_per_s": slips / wall,
        "jumps": jumps,
        "load": f"{load_before} -> {_load()}",
    }


# -- the client process ---------------------------------------------------------------------
async def _client_main(args) -> dict:
    from benchmarks.streaming_wsclient import WsClient
    from streaming.frames import frame_unpack

    cameras = args.camera_list.split(",")
    sockets = args.sockets
    counts: dict[tuple[int, str], int] = {}
    latencies: list[float] = []
    measuring = False
    stop = asyncio.Event()
    connected = 0

    async def browser(index: int) -> None:
        nonlocal connected
        camera = cameras[index % len(cameras)] if not args.wall else None
        path = args.path if args.wall else f"/ws/live-monitoring/{camera}/"
        try:
            client = await asyncio.wait_for(
                WsClient.connect("127.0.0.1", args.port, path, cookie=args.cookie), 30
            )
        except (OSError, TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            return
        connected += 1
        if args.wall:
            await client.send_text(json.dumps({"type": "watch", "cameras": cameras}))
        window, unacked = 8, {}
        try:
            while not stop.is_set():
                message = await client.recv()
                if not message.is_binary:
                    window = json.loads(message.text).get("ack_window", window)
                    continue
                received_at = time.time()
                data = message.data
                if args.wall:
                    length = data[1]
                    camera = data[2 : 2 + length].decode()
                    data = data[2 + length :]
                if measuring:
                    frame = frame_unpack(data, camera_id=camera, width=0)
                    key = (index, camera)
                    counts[key] = counts.get(key, 0) + 1
                    latencies.append(received_at - frame.encoded_at)
                unacked[camera] = unacked.get(camera, 0) + 1
                if unacked[camera] >= window:
                    ack = (
                        f"ack {camera} {unacked[camera]}" if args.wall else f"ack {unacked[camera]}"
                    )
                    await client.send_text(ack)
                    unacked[camera] = 0
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await client.close()

    tasks = [asyncio.ensure_future(browser(i)) for i in range(sockets)]
    deadline = time.monotonic() + 60
    while connected < sockets and time.monotonic() < deadline:
        if all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(args.warmup)
    cpu_start = time.process_time()
    print("MEASURE_START", flush=True)
    started = time.monotonic()
    measuring = True
    await asyncio.sleep(args.seconds)
    measuring = False
    elapsed = time.monotonic() - started
    print("MEASURE_END", flush=True)
    cpu = time.process_time() - cpu_start
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if args.wall:
        expected = [(i, c) for i in range(sockets) for c in cameras]
    else:
        expected = [(i, cameras[i % len(cameras)]) for i in range(sockets)]
    rates = sorted(counts.get(key, 0) / elapsed for key in expected)
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
        )

    return {
        "connected": connected,
        "streams": len(expected),
        "fps_min": rates[0] if rates else 0.0,
        "fps_p5": rates[int(0.05 * len(rates))] if rates else 0.0,
        "fps_median": statistics.median(rates) if rates else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "client_cpu_pct": 100 * cpu / elapsed,
    }


# -- orchestration --------------------------------------------------------------------------
class Stack:
    """The web process (and, scaled, Redis and two stream workers) on one data folder."""

    def __init__(self, server, mode: str, workers: int):
        from broadcastops.tests.daphne_server import free_port

        self.server = server
        self.mode = mode
        self.workers = workers
        self.env = dict(server.env)
        self.processes: list[subprocess.Popen] = []
        self.worker_pids: list[int] = []
        if mode == "scaled":
            self.redis_port = free_port()
            url = f"redis://127.0.0.1:{self.redis_port}/0"
            self.env.update(REDIS_URL=url, STREAMING_REDIS_URL=url)

    def __enter__(self) -> "Stack":
        import redis
        import requests

        data = Path(self.env["BROADCASTOPS_DATA_DIR"])
        self.log_path = data / f"{self.mode}-{time.time():.0f}.log"
        self._log = self.log_path.open("wb")
        popen = {"cwd": ROOT, "env": self.env, "stdout": self._log, "stderr": self._log}
        if self.mode == "scaled":
            self.processes.append(
                subprocess.Popen(
                    [
                        "redis-server",
                        "--bind",
                        "127.0.0.1",
                        "--port",
                        str(self.redis_port),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    stdout=subprocess.DEVNULL,
                )
            )
            deadline = time.monotonic() + 10
            while True:
                try:
                    redis.Redis(port=self.redis_port, socket_timeout=1).ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.1)
            for n in range(self.workers):
                worker = subprocess.Popen(
                    [
                        sys.executable,
                        "manage.py",
                        "stream_worker",
                        "--max-seconds",
                        "900",
                        "--worker-id",
                        f"bench-{n}",
                    ],
                    **popen,
                )
                self.processes.append(worker)
                self.worker_pids.append(worker.pid)
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                WEB,
                "-b",
                "127.0.0.1",
                "-p",
                str(self.server.port),
                "broadcastops.asgi:application",
            ],
            **popen,
        )
        self.processes.append(web)
        self.web_pid = web.pid
        self.producer_pids = self.worker_pids if self.mode == "scaled" else [web.pid]
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.server.url + "/", timeout=5)
                return self
            except requests.RequestException:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise RuntimeError("daphne did not start") from None
                time.sleep(0.2)

    def log_keep(self, folder: Path) -> None:
        """A copy of the processes' log (the data folder is a temporary one)."""
        folder.mkdir(parents=True, exist_ok=True)
        self._log.flush()
        shutil.copy(self.log_path, folder / self.log_path.name)

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        self._log.close()


def _loop_cpu_seconds(pid: int) -> float:
    """CPU of the process's main thread: daphne's event loop (fan-out, sockets, Django)."""
    return _cpu_seconds_of(f"/proc/{pid}/task/{pid}/stat")


def _cpu_seconds_of(path: str) -> float:
    with open(path) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _threads_of(pids: list[int]) -> dict[int, tuple[int, float]]:
    """Every thread of the processes: its nice value and its CPU seconds so far."""
    threads: dict[int, tuple[int, float]] = {}
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended meanwhile
                continue
            cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
            threads[int(task.name)] = (int(fields[16]), cpu)
    return threads


_STARTED = re.compile(r"Producer started camera=(\S+) session=\S+ upload=\S+ nice=(\S+)")


def _producer_starts(log: Path, offset: int, cameras: list[str]) -> dict[str, int]:
    """How many of the row's producers logged which nice value in their start line."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    nices: dict[str, int] = {}
    for camera, nice in _STARTED.findall(text):
        if camera in cameras:
            nices[nice] = nices.get(nice, 0) + 1
    return nices


def run_load(server, stack: Stack, *, wall: bool, cameras: list[str], sockets: int, args) -> dict:
    client = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.streaming_wall",
            "--client",
            "--port",
            str(server.port),
            "--path",
            "/ws/live-monitoring-wall/",
            "--cookie",
            server.cookie,
            "--sockets",
            str(sockets),
            "--camera-list",
            ",".join(cameras),
            "--seconds",
            str(args.seconds),
            "--warmup",
            str(args.warmup),
            *(["--wall"] if wall else []),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    result = None
    spy = None
    for line in client.stdout:
        if line.startswith("MEASURE_START"):
            if args.py_spy:
                spy_out = Path(args.output).with_suffix(f".{stack.mode}-{len(cameras)}.spy.txt")
                spy = subprocess.Popen(
                    [
                        args.py_spy,
                        "record",
                        "--pid",
                        str(stack.web_pid if stack.mode == "embedded" else stack.worker_pids[0]),
                        "--duration",
                        str(int(args.seconds)),
                        "--rate",
                        "50",
                        "--native",
                        "--threads",
                        "--format",
                        "raw",
                        "--output",
                        str(spy_out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            web0 = _cpu_seconds(stack.web_pid)
            loop0 = _loop_cpu_seconds(stack.web_pid)
            load_before = _load()
            workers0 = sum(_cpu_seconds(p) for p in stack.worker_pids)
            threads0 = _threads_of(stack.producer_pids)
            wall0 = time.monotonic()
        elif line.startswith("MEASURE_END"):
            elapsed = time.monotonic() - wall0
            web_cpu = 100 * (_cpu_seconds(stack.web_pid) - web0) / elapsed
            loop_cpu = 100 * (_loop_cpu_seconds(stack.web_pid) - loop0) / elapsed
            workers_cpu = (
                100 * (sum(_cpu_seconds(p) for p in stack.worker_pids) - workers0) / elapsed
            )
            load = f"{load_before} -> {_load()}"
            # The producers' priority, seen from outside: every thread of the processes that
            # run them by nice value at the end, and the CPU the niced ones used meanwhile.
            threads1 = _threads_of(stack.producer_pids)
            nice_threads: dict[str, int] = {}
            niced_cpu = 0.0
            for tid, (nice, cpu) in threads1.items():
                nice_threads[str(nice)] = nice_threads.get(str(nice), 0) + 1
                if nice > 0:
                    niced_cpu += cpu - threads0.get(tid, (nice, 0.0))[1]
            niced_cpu_pct = 100 * niced_cpu / elapsed
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    client.wait(60)
    if spy is not None:
        spy.wait(60)
    if result is None:
        raise RuntimeError("the client printed no result")
    if spy is not None and spy_out.exists():
        result["spy"] = spy_summary(spy_out)
    result.update(
        web_cpu_pct=web_cpu,
        loop_cpu_pct=loop_cpu,
        workers_cpu_pct=workers_cpu,
        load=load,
        nice_threads=nice_threads,
        niced_cpu_pct=niced_cpu_pct,
    )
    return result


def start_cameras(server, source: Path, cameras: list[str]) -> None:
    import requests

    for camera in cameras:
        with open(source, "rb") as handle:
            response = requests.post(
                f"{server.url}/api/live-monitoring/upload-video?camera_id={camera}",
                files={"video": (source.name, handle)},
                headers=server.auth,
                timeout=120,
            )
        response.raise_for_status()
        requests.post(
            f"{server.url}/api/v1/live-monitoring/cameras/{camera}/start",
            json={"upload_id": response.json()["upload_id"]},
            headers=server.auth,
            timeout=10,
        ).raise_for_status()


def stop_cameras(server, cameras: list[str]) -> None:
    import requests

    for camera in cameras:
        requests.post(
            f"{server.url}/api/v1/live-monitoring/cameras/{camera}/stop",
            headers=server.auth,
            timeout=10,
        )


def render(report: dict, args) -> str:
    lines = [
        "# Camera-wall benchmark (`benchmarks/streaming_wall.py`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime(report['started']))}-"
        f"{time.strftime('%H:%M', time.gmtime(time.time()))} UTC, {os.cpu_count()} cores "
        f"shared with other work, source: {report['source']}. Each load row: "
        f"{args.seconds:g} s measured after {args.warmup:g} s of warm-up; nothing pinned.",
        "",
    ]
    if "cpu" in report:
        cpu = report["cpu"]
        lines += [f"## CPU per frame and per camera (one thread; load {cpu['load']})", ""]
        lines += ["| step | ms of CPU per frame |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in cpu["per_frame_ms"].items()]
        lines += ["", "| camera | % of one core | cameras per core |", "|---|---|---|"]
        lines += [
            f"| {k} | {v:.1f} | {100 / v:.1f} |" for k, v in cpu["per_camera_core_pct"].items()
        ]
        lines.append("")
    if "producers" in report:
        lines += [
            "## Producers alone (no web server; a sink demanding 640 at 15 frames/s of each)",
            "",
            "| cameras | frames/s per camera: slowest / median / fastest | cores busy "
            "| slipped frames/s (all) | jumps | load 1/5/15 before -> after |",
            "|---|---|---|---|---|---|",
        ]
        for row in report["producers"]:
            lines.append(
                f"| {row['cameras']} | {row['fps_min']:.1f} / {row['fps_median']:.1f} / "
                f"{row['fps_max']:.1f} | {row['cores_busy']:.2f} | {row['slips_per_s']:.0f} | "
                f"{row['jumps']} | {row['load']} |"
            )
        lines.append("")
    if "threads" in report:
        lines += [
            "## Decoding capacity: 16 captures decoding as fast as they can",
            "",
            "| FFmpeg threads | frames/s (all) | ms CPU per frame | cores busy "
            "| 30 fps cameras | slowest capture fps | load 1/5/15 before -> after |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, row in report["threads"].items():
            lines.append(
                f"| {label} | {row['frames_per_s']:.0f} | {row['cpu_ms_per_frame']:.2f} | "
                f"{row['cores_busy']:.2f} | {row['cameras_at_30']:.1f} | "
                f"{row['slowest_capture_fps']:.0f} | {row['load']} |"
            )
        lines.append("")
    if report["rows"]:
        lines += [
            "## Load",
            "",
            "| mode | scenario | cameras | streams (socket x camera) "
            "| fps slowest / 5th pct / median | latency p50 / p99 | web CPU (its event loop) "
            "| workers CPU | client CPU | producers' nice: start lines; threads at the end "
            "(niced threads' CPU) | load 1/5/15 before -> after |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in report["rows"]:
            starts = ", ".join(
                f"{n} at {nice}" for nice, n in sorted(row.get("producer_starts", {}).items())
            )
            threads = ", ".join(
                f"{n} at {nice}" for nice, n in sorted(row.get("nice_threads", {}).items())
            )
            lines.append(
                f"| {row['mode']} | {row['scenario']} | {row['cameras']} | {row['streams']} "
                f"({row['connected']} sockets) | {row['fps_min']:.1f} / {row['fps_p5']:.1f} / "
                f"{row['fps_median']:.1f} | {row['p50_ms']:.0f} / {row['p99_ms']:.0f} ms | "
                f"{row['web_cpu_pct']:.0f} % ({row['loop_cpu_pct']:.0f} %) | "
                f"{row['workers_cpu_pct']:.0f} % | "
                f"{row['client_cpu_pct']:.0f} % | {starts or 'none'}; {threads} "
                f"({row.get('niced_cpu_pct', 0):.0f} %) | {row['load']} |"
            )
        spied = [row for row in report["rows"] if row.get("spy")]
        if spied:
            lines += ["", "## Where the time goes (py-spy, share of samples of every thread)", ""]
            lines += ["| mode | scenario | cameras | what | % |", "|---|---|---|---|---|"]
            for row in spied:
                lines += [
                    f"| {row['mode']} | {row['scenario']} | {row['cameras']} | {k} | {v:.0f} |"
                    for k, v in row["spy"].items()
                ]
    return "\n".join(lines) + "\n"


def _spy_kind(stack: str) -> str:
    thread, _, frames = stack.partition(";")
    waiting = any(k in frames for k in ("acquire_lock", "take_gil", "wait (threading", "epoll"))
    if "producer-" in thread:
        if "libavcodec" in frames:
            return "producers: decode (libavcodec)"
        if "libswscale" in frames:
            return "producers: colour conversion (retrieve)"
        if "media.py" in frames:
            return "producers: resize + JPEG encode"
        if "alarms.py" in frames:
            return "producers: alarm judgement"
        return "producers: waiting" if waiting else "producers: other"
    if "MainThread" in thread or "python" in thread.lower():
        return "event loop: waiting" if waiting else "event loop: fan-out, sockets, Django"
    return "other threads: waiting" if waiting else "other threads"


def spy_summary(path: Path) -> dict[str, float]:
    """Share of py-spy's samples (every thread) by what each thread was doing."""
    totals: dict[str, float] = {}
    all_samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        kind = _spy_kind(stack)
        totals[kind] = totals.get(kind, 0) + int(count)
        all_samples += int(count)
    return {k: 100 * v / max(1, all_samples) for k, v in sorted(totals.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="cpu,wall,full")
    parser.add_argument("--modes", default="embedded,scaled")
    parser.add_argument("--cameras", default="16", help="wall sizes, comma-separated")
    parser.add_argument("--browsers", type=int, default=20)
    parser.add_argument("--full-cameras", default="12", help="comma-separated")
    parser.add_argument("--full-viewers", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument(
        "--py-spy",
        default="",
        help="a py-spy binary: sample the web process (scaled: the first worker) over each "
        "load row's measured seconds, raw stacks next to --output (summarised by spy_summary)",
    )
    parser.add_argument("--keep-logs", default="", help="a folder for the stack's logs")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--wall", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", default="", help=argparse.SUPPRESS)
    parser.add_argument("--sockets", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--camera-list", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print("RESULT " + json.dumps(asyncio.run(_client_main(args))), flush=True)
        return

    import django

    django.setup()
    from broadcastops.tests.daphne_server import daphne_prepare

    scenarios = args.scenarios.split(",")
    modes = args.modes.split(",")
    if "scaled" in modes and not shutil.which("redis-server"):
        print("no redis-server on PATH: the scaled mode is left out", file=sys.stderr)
        modes.remove("scaled")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    report: dict = {"started": time.time(), "rows": []}
    with tempfile.TemporaryDirectory(prefix="wall-bench-") as tmp:
        source, report["source"] = make_source(Path(tmp))
        if "cpu" in scenarios:
            print("measuring the per-frame costs…", file=sys.stderr, flush=True)
            report["cpu"] = cpu_scenario(source)
            output.write_text(render(report, args))
        if "producers" in scenarios:
            print("measuring the producers alone…", file=sys.stderr, flush=True)
            report["producers"] = [
                producers_scenario(source, cameras=int(n)) for n in args.cameras.split(",")
            ]
            output.write_text(render(report, args))
        if "threads" in scenarios:
            print("measuring the decoding capacity…", file=sys.stderr, flush=True)
            report["threads"] = threads_scenario(source)
            output.write_text(render(report, args))
        loads = [
            (s, int(n))
            for s in scenarios
            if s in ("wall", "full")
            for n in (args.cameras if s == "wall" else args.full_cameras).split(",")
        ]
        for mode in modes if loads else []:
            # INFO: the producers' start lines name their nice value (checked in every row).
            server = daphne_prepare(Path(tmp) / f"data-{mode}", LOG_LEVEL="INFO")
            with Stack(server, mode, args.workers) as stack:
                for scenario, count in loads:
                    if scenario == "wall":
                        cameras = [f"wall-{n:02d}" for n in range(count)]
                        sockets, wall = args.browsers, True
                    else:
                        cameras = [f"full-{n:02d}" for n in range(count)]
                        sockets, wall = count * args.full_viewers, False
                    print(f"{mode} {scenario}: starting {len(cameras)} cameras…", file=sys.stderr)
                    log_offset = stack.log_path.stat().st_size
                    start_cameras(server, source, cameras)
                    time.sleep(3.0 if mode == "embedded" else 5.0)
                    row = run_load(
                        server, stack, wall=wall, cameras=cameras, sockets=sockets, args=args
                    )
                    row.update(mode=mode, scenario=scenario, cameras=count)
                    row["producer_starts"] = _producer_starts(stack.log_path, log_offset, cameras)
                    print(row, file=sys.stderr, flush=True)
                    report["rows"].append(row)
                    stop_cameras(server, cameras)
                    output.write_text(render(report, args))
                if args.keep_logs:
                    stack.log_keep(Path(args.keep_logs))
    print(render(report, args))


if __name__ == "__main__":
    main()
