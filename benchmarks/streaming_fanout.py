"""Live-frame fan-out benchmark: our hub against an encode per viewer and ``group_send``.

Usage: .venv/bin/python benchmarks/streaming_fanout.py [--viewers 1,100,300] [--seconds N]
           [--runs 3] [--designs hub,hub_scaled,naive,group_send,direct,reference]
           (also: hub_scaled_x2)

Each run starts a fresh daphne process (pinned to CPU 0 when ``taskset`` exists) and one
client process holding all WebSocket viewers (pinned to CPU 1); each cell is the median of
``--runs`` runs. Viewers acknowledge frames as the page does: once per ``ack_window``
frames, as the status messages announce (the comparison designs send no status, so their
viewers acknowledge every frame). Reported per cell: frames per second each viewer received
(median and slowest, and each run's median), the frames per second reaching the hub (from
the status messages: what the producer delivered), latency from the end of the frame's
encode to its receipt (the time travels in the JPEG's comment segment; same host clock), and the
web process's CPU (% of one core, all its threads) and memory.

The source is a 1280x720 30 fps H.264 clip made with ffmpeg's testsrc2 when ffmpeg is on
PATH; otherwise OpenCV writes MPEG-4 part 2 and the table says so.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The web process module the Procfile runs (daphne with streamed request bodies).
WEB = "broadcastops.webserver"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadcastops.settings")

RESULTS = ROOT / "benchmarks" / "results" / "streaming_fanout.md"
CAMERA = "bench"
PATHS = {
    "hub": f"/ws/live-monitoring/{CAMERA}/",
    "hub_scaled": f"/ws/live-monitoring/{CAMERA}/",
    "hub_scaled_x2": f"/ws/live-monitoring/{CAMERA}/",
    "naive": "/ws/naive/",
    "group_send": "/ws/group/",
    "direct": "/ws/direct/",
    "reference": "/ws/direct/",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
# A run whose median viewer got less than this is short of frames: --failed-logs keeps its logs.
_SHORT_FPS = 25.0


# -- client process -------------------------------------------------------------------------
async def _client_main(args) -> dict:
    from benchmarks.streaming_wsclient import WsClient
    from streaming.frames import frame_unpack

    counts = [0] * args.viewers
    latencies: list[float] = []
    feed_fps: list[float] = []  # frames/s reaching the hub, from the status messages
    measuring = False
    stop = asyncio.Event()
    gate = asyncio.Semaphore(50)
    connected = 0

    async def viewer(index: int) -> None:
        nonlocal connected
        async with gate:
            try:
                client = await asyncio.wait_for(
                    WsClient.connect("127.0.0.1", args.port, args.path, cookie=args.cookie), 30
                )
            except (OSError, TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                return
        connected += 1
        window, unacked = 1, 0
        try:
            while not stop.is_set():
                message = await client.recv()
                if not message.is_binary:
                    # As the page does: one acknowledgement per window the server announces.
                    status = json.loads(message.text)
                    window = status.get("ack_window", window)
                    if measuring and status.get("fps"):
                        feed_fps.append(status["fps"])
                    continue
                received_at = time.time()
                if measuring:
                    frame = frame_unpack(message.data, camera_id=CAMERA, width=0)
                    counts[index] += 1
                    latencies.append(received_at - frame.encoded_at)
                unacked += 1
                if args.no_ack:
                    continue
                if unacked >= window:
                    await client.send_text("ack" if unacked == 1 else f"ack {unacked}")
                    unacked = 0
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await client.close()

    tasks = [asyncio.ensure_future(viewer(i)) for i in range(args.viewers)]
    deadline = time.monotonic() + 60
    while connected < args.viewers and time.monotonic() < deadline:
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
    rates = sorted(c / elapsed for c in counts[:connected] or [0])
    latencies.sort()

    def pct(p):
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
        )

    return {
        "connected": connected,
        "fps_median": statistics.median(rates) if rates else 0.0,
        "fps_min": min(c / elapsed for c in counts) if connected == args.viewers else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "client_cpu_pct": 100 * cpu / elapsed,
        "feed_fps": statistics.median(feed_fps) if feed_fps else None,
        "mbytes_per_s": None,
    }


def client_main(args) -> None:
    result = asyncio.run(_client_main(args))
    print("RESULT " + json.dumps(result), flush=True)


# -- orchestration --------------------------------------------------------------------------
def _pinned(cpu: int, command: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu), *command]
    return command


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def make_source(directory: Path) -> tuple[Path, str]:
    path = directory / "source_1280x720_30fps.mp4"
    if shutil.which("ffmpeg"):
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=1280x720:rate=30:duration=20",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-preset",
                "medium",
                str(path),
            ],
            check=True,
        )
        return path, "H.264 (ffmpeg testsrc2, 20 s)"
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (1280, 720))
    for index in range(600):
        image = np.zeros((720, 1280, 3), np.uint8)
        image[:] = (index % 256, 80, 160)
        cv2.putText(image, f"frame {index}", (100, 360), cv2.FONT_HERSHEY_SIMPLEX, 4, (255,) * 3, 8)
        writer.write(image)
    writer.release()
    return path, "MPEG-4 part 2 (OpenCV; ffmpeg not installed, so no H.264 encoder)"


class ScaledParts:
    """Redis and one ``stream_worker`` on the web process's core (CPU 0): the scaled mode's
    web process only fans frames out, the producer runs in another process.

    Not next to the viewers: the client process is the measuring instrument, and with the
    worker decoding and encoding on its core (CPU 1) the 300-viewer p99 was set by the
    viewers' own wait for the CPU (142 ms, against 56 ms with the same code pinned here, 3
    runs each on 2026-12-01). CPU 0 then holds the same work as in the embedded mode."""

    def __init__(self, server, *, pinned: bool = True):
        from broadcastops.tests.daphne_server import free_port

        self.pinned = pinned
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.env = {**server.env, "REDIS_URL": self.url, "STREAMING_REDIS_URL": self.url}
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> "ScaledParts":
        import redis

        redis_server = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.processes.append(subprocess.Popen(self._pin(redis_server), stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.1)
        worker = [sys.executable, "manage.py", "stream_worker", "--max-seconds", "600"]
        log_path = Path(self.env["BROADCASTOPS_DATA_DIR"]) / f"worker-{time.time():.0f}.log"
        self.env["BENCH_WORKER_LOG"] = str(log_path)
        self._log = log_path.open("wb")
        self.processes.append(
            subprocess.Popen(
                self._pin(worker),
                cwd=ROOT,
                # Its few INFO lines (claims, producers starting and stopping) tell why a run
                # got no frames.
                env={**self.env, "LOG_LEVEL": "INFO"},
                stdout=self._log,
                stderr=self._log,
            )
        )
        self.env["BENCH_WORKER_PID"] = str(self.processes[-1].pid)  # taskset execs it
        return self

    def _pin(self, command: list[str]) -> list[str]:
        return _pinned(0, command) if self.pinned else command

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                print("a scaled-mode process ignored SIGTERM for 10 s", file=sys.stderr)
                process.kill()
        self._log.close()


def run_cell(server, design: str, viewers: int, args, source: Path) -> dict:
    if design in ("hub_scaled", "hub_scaled_x2"):
        web_processes = 2 if design == "hub_scaled_x2" else 1
        with ScaledParts(server, pinned=web_processes == 1) as scaled:
            return _run_cell(
                server, design, viewers, args, source, env=scaled.env, web_processes=web_processes
            )
    return _run_cell(server, design, viewers, args, source, env=server.env)


def _web_start(port: int, app: str, env: dict, count: int, log) -> list[subprocess.Popen]:
    """One web process (daphne, ``broadcastops.webserver`` as ``make run`` starts it) pinned to
    CPU 0, or ``count`` unpinned ones sharing the port.

    Several processes each get their own listening socket bound with ``SO_REUSEPORT``
    (passed with daphne's ``--fd``), so the kernel spreads the viewers over them as a load
    balancer in front of several web processes would.
    """
    popen = {"cwd": ROOT, "env": env, "stdout": log, "stderr": log}
    if count == 1:
        command = [sys.executable, "-m", WEB, "-b", "127.0.0.1", "-p", str(port), app]
        return [subprocess.Popen(_pinned(0, command), **popen)]
    processes = []
    for _ in range(count):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1024)
        with listener:
            fd = listener.fileno()
            command = [sys.executable, "-m", WEB, "--fd", str(fd), app]
            processes.append(subprocess.Popen(command, pass_fds=(fd,), **popen))
    return processes


def _connections(pid: int) -> int:
    """Open sockets of a process (its viewers, plus a few of its own)."""
    count = 0
    for entry in os.scandir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(entry.path).startswith("socket:")
    return count


def _dump_state(kept: Path, env: dict, processes) -> None:
    """What the processes and Redis were doing when a run came up short (py-spy if present).

    Taken once the client process has ended: the viewers have left, so the web process's
    subscriptions may be gone already; the producer and the Redis keys keep their state.
    """
    import redis

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    pids = [p.pid for p in processes]
    if env.get("BENCH_WORKER_PID"):
        pids.append(int(env["BENCH_WORKER_PID"]))
    lines = ["(taken after the viewers left)"]
    for pid in pids:
        if Path(py_spy).exists():
            dump = subprocess.run(
                [py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30
            )
            lines.append(f"== py-spy dump {pid}\n{dump.stdout}{dump.stderr}")
    if env.get("STREAMING_REDIS_URL"):
        client = redis.Redis.from_url(env["STREAMING_REDIS_URL"], socket_timeout=2)
        prefix = env.get("STREAMING_REDIS_PREFIX", "broadcastops:streaming")
        for key in client.scan_iter(f"{prefix}:*"):
            kind = client.type(key).decode()
            value = client.zrange(key, 0, -1, withscores=True) if kind == "zset" else kind
            lines.append(f"== {key.decode()} ({kind}, ttl {client.pttl(key)} ms): {value}")
        channels = client.pubsub_channels(f"{prefix}:*")
        lines.append(f"== subscribers: {client.pubsub_numsub(*channels) if channels else []}")
        lines.append(f"== time {time.time()}")
    (kept / f"state-{time.time():.0f}.txt").write_text("\n".join(lines))


def _run_cell(
    server, design: str, viewers: int, args, source: Path, *, env: dict, web_processes: int = 1
) -> dict:
    import requests

    app = (
        "broadcastops.asgi:application"
        if design.startswith("hub")
        else "benchmarks.streaming_designs:application"
    )
    env = {**env, "BENCH_SOURCE": str(source)}
    log_path = Path(env["BROADCASTOPS_DATA_DIR"]) / f"web-{design}-{viewers}-{time.time():.0f}.log"
    log = log_path.open("wb")
    processes = _web_start(server.port, app, env, web_processes, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(server.url + "/", timeout=5)
                break
            except requests.RequestException:  # refused, or busy starting up
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    raise RuntimeError("daphne did not start") from None
                time.sleep(0.2)
        if web_processes > 1:
            time.sleep(3)  # the other processes start as fast; connections wait for them
        client = subprocess.Popen(
            _pinned(
                1,
                [
                    sys.executable,
                    __file__,
                    "--client",
                    "--port",
                    str(server.port),
                    "--path",
                    PATHS[design],
                    "--cookie",
                    server.cookie,
                    "--viewers",
                    str(viewers),
                    "--seconds",
                    str(args.seconds),
                    "--warmup",
                    str(args.warmup),
                    *(["--no-ack"] if design == "reference" else []),
                ],
            ),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        cpu_start = wall_start = None
        rss_peak = 0.0
        result = None
        per_process = []
        for line in client.stdout:
            if line.startswith("MEASURE_START"):
                cpu_start = sum(_cpu_seconds(p.pid) for p in processes)
                wall_start = time.monotonic()
            elif line.startswith("MEASURE_END"):
                cpu = sum(_cpu_seconds(p.pid) for p in processes) - cpu_start
                wall = time.monotonic() - wall_start
                rss_peak = sum(server_rss(p.pid) for p in processes)
                per_process = [_connections(p.pid) for p in processes]
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        client.wait(60)
        if result is None:
            raise RuntimeError("the client process printed no result")
        result.update(
            design=design,
            viewers=viewers,
            server_cpu_pct=100 * cpu / wall,
            server_rss_mb=rss_peak,
            sockets_per_process=per_process,
        )
        delivered = result["fps_median"] * result["connected"]
        result["cpu_us_per_msg"] = (cpu / wall) / delivered * 1e6 if delivered else None
        if not delivered:
            # Without daphne's access lines (one per connection), which would bury the rest.
            lines = log_path.read_text(errors="replace").splitlines()
            tail = "\n".join(line for line in lines if '] "WS' not in line)[-3000:]
            if env.get("BENCH_WORKER_LOG"):
                worker_log = Path(env["BENCH_WORKER_LOG"]).read_text(errors="replace")
                tail += f"\nstream_worker log:\n{worker_log[-3000:]}"
            print(
                f"{design} with {viewers} viewers delivered nothing ({result}); web log:\n{tail}",
                file=sys.stderr,
            )
        # The comparison designs fall short by design; only the hub's short runs are news.
        if args.failed_logs and design.startswith("hub") and result["fps_median"] < _SHORT_FPS:
            kept = Path(args.failed_logs)
            kept.mkdir(parents=True, exist_ok=True)
            _dump_state(kept, env, processes)
            shutil.copy(log_path, kept)
            if env.get("BENCH_WORKER_LOG"):
                shutil.copy(env["BENCH_WORKER_LOG"], kept)
        return result
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.close()


def server_rss(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def prepare_hub(server, source: Path) -> None:
    """Upload the source and start the camera's stream once; each cell's daphne joins it."""
    import requests

    server.start()
    try:
        with open(source, "rb") as handle:
            response = requests.post(
                f"{server.url}/api/live-monitoring/upload-video?camera_id={CAMERA}",
                files={"video": (source.name, handle)},
                headers=server.auth,
                timeout=120,
            )
        response.raise_for_status()
        requests.post(
            f"{server.url}/api/v1/live-monitoring/cameras/{CAMERA}/start",
            json={"upload_id": response.json()["upload_id"]},
            headers=server.auth,
            timeout=10,
        ).raise_for_status()
    finally:
        server.stop()


def median_of(runs: list[dict]) -> dict:
    """Each measure's median over the runs of one cell (the run-to-run spread on this VM
    is up to 2x, reference/perf-limits.md); the frame rates of every run are kept."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            values = [run[key] for run in runs if run.get(key) is not None]
            merged[key] = statistics.median(values) if values else None
    merged["fps_runs"] = [run["fps_median"] for run in runs]
    return merged


def render(results: list[dict], source_note: str, args) -> str:
    lines = [
        "# Live-frame fan-out (benchmarks/streaming_fanout.py)",
        "",
        f"Source: 1280x720 30 fps, {source_note}; JPEG quality 85. One daphne process "
        f"(CPU 0), viewers in one client process (CPU 1), {args.warmup:g} s warm-up then "
        f"{args.seconds:g} s measured; each cell is the median of {args.runs} runs, each on a "
        f"fresh daphne. Machine: {os.cpu_count()} cores. "
        f"Run {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "| design | viewers (connected) | frames/s per viewer: median ; slowest (runs) "
        "| frames/s reaching the hub | latency p50 / p99 ms | web CPU % of a core "
        "| µs CPU per frame sent | web RSS MB | client CPU % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        us = f"{r['cpu_us_per_msg']:.0f}" if r.get("cpu_us_per_msg") else "-"
        runs = ", ".join(f"{fps:.1f}" for fps in r["fps_runs"])
        connected = f"{r['connected']:.0f}"
        if len(r.get("sockets_per_process") or ()) > 1:
            connected += "; open sockets " + " + ".join(map(str, r["sockets_per_process"]))
        feed = f"{r['feed_fps']:.1f}" if r.get("feed_fps") else "-"
        lines.append(
            f"| {r['design']} | {r['viewers']:.0f} ({connected}) | "
            f"{r['fps_median']:.1f} ; {r['fps_min']:.1f} ({runs}) | {feed} | "
            f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} | "
            f"{r['server_cpu_pct']:.0f} | {us} | {r['server_rss_mb']:.0f} | "
            f"{r['client_cpu_pct']:.0f} |"
        )
    lines += [
        "",
        "hub: this project's design in the embedded mode (the producer, one decode and one "
        "encode per frame, is a thread of the web process; in-process hub, acknowledged "
        "sends). hub_scaled: the same in the scaled mode: the producer runs in a "
        "`stream_worker` process and the frames reach the web process through Redis pub/sub "
        "(worker and Redis pinned with the web process to CPU 0, whose CPU column is the web "
        "process's alone; the viewers keep CPU 1 to themselves). hub_scaled_x2: the scaled mode "
        "with two web processes sharing the port (`SO_REUSEPORT`, daphne `--fd`), nothing "
        "pinned: the answer ARCHITECTURE.md gives when one process is not enough, here "
        "on the same two cores as the viewers. "
        "naive: one shared decode, one JPEG encode per viewer per frame. "
        "group_send: one encode, fan-out through Channels' InMemoryChannelLayer group_send. "
        "direct: one encode, every frame sent to every viewer at once without flow control "
        "(acknowledgements read and ignored): the floor of daphne's cost, not a design to ship. "
        "reference: `direct` with viewers that never acknowledge, which is how "
        "reference/perf-limits.md measured daphne (57 µs per send, 200 viewers at 35 % of a "
        "core with p99 21 ms, 400 at 68 % with p99 43 ms): the same measurement on this "
        "machine today, to tell the machine's speed from the design's.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="1,100,300")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--designs", default="hub,hub_scaled,naive,group_send,direct,reference")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median reported)")
    parser.add_argument(
        "--failed-logs", default="", help="copy the logs of a run short of frames here"
    )
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", default="", help=argparse.SUPPRESS)
    parser.add_argument("--no-ack", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        args.viewers = int(args.viewers)
        client_main(args)
        return

    from broadcastops.tests.daphne_server import daphne_prepare

    counts = [int(v) for v in args.viewers.split(",")]
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    designs = args.designs.split(",")
    with tempfile.TemporaryDirectory(prefix="streaming-bench-") as tmp:
        tmp_path = Path(tmp)
        source, source_note = make_source(tmp_path)
        server = daphne_prepare(tmp_path / "data", LOG_LEVEL="WARNING")
        if {"hub", "hub_scaled", "hub_scaled_x2"} & set(designs):
            prepare_hub(server, source)
        if not shutil.which("redis-server"):
            print("no redis-server on PATH: the scaled designs are left out", file=sys.stderr)
            designs = [d for d in designs if not d.startswith("hub_scaled")]
        results = []
        for design in designs:
            for viewers in counts:
                runs = []
                for run in range(args.runs):
                    print(
                        f"running {design} with {viewers} viewers, run {run + 1}…",
                        file=sys.stderr,
                        flush=True,
                    )
                    runs.append(run_cell(server, design, viewers, args, source))
                results.append(median_of(runs))
                # Written after every cell: a long run that fails late keeps what it measured.
                output.write_text(render(results, source_note, args))
    print(render(results, source_note, args))


if __name__ == "__main__":
    main()
