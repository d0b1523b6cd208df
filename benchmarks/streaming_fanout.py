"""Live-frame fan-out benchmark: our hub against an encode per viewer and ``group_send``.

Usage: .venv/bin/python benchmarks/streaming_fanout.py [--viewers 1,100,300] [--seconds N]
                                                     [--designs hub,naive,group_send,direct]

Each cell starts a fresh daphne process (pinned to CPU 0 when ``taskset`` exists) and one
client process holding all WebSocket viewers (pinned to CPU 1). Viewers acknowledge frames
as the page does: once per ``ack_window`` frames, as the status messages announce (the
comparison designs send no status, so their viewers acknowledge every frame). Reported per
cell: frames per second each viewer received (median and slowest), latency from encode to
receipt (the encode time travels in the JPEG's comment segment; same host clock), and the
daphne process's CPU (% of one core) and memory.

The source is a 1280x720 30 fps H.264 clip made with ffmpeg's testsrc2 when ffmpeg is on
PATH; otherwise OpenCV writes MPEG-4 part 2 and the table says so.
"""

import argparse
import asyncio
import json
import os
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

RESULTS = ROOT / "benchmarks" / "results" / "streaming_fanout.md"
CAMERA = "bench"
PATHS = {
    "hub": f"/ws/live-monitoring/{CAMERA}/",
    "naive": "/ws/naive/",
    "group_send": "/ws/group/",
    "direct": "/ws/direct/",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- client process -------------------------------------------------------------------------
async def _client_main(args) -> dict:
    from benchmarks.streaming_wsclient import WsClient
    from streaming.frames import frame_unpack

    counts = [0] * args.viewers
    latencies: list[float] = []
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
                    window = json.loads(message.text).get("ack_window", window)
                    continue
                received_at = time.time()
                if measuring:
                    frame = frame_unpack(message.data, camera_id=CAMERA, width=0)
                    counts[index] += 1
                    latencies.append(received_at - frame.encoded_at)
                unacked += 1
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


def run_cell(server, design: str, viewers: int, args, source: Path) -> dict:
    import requests

    if design == "hub":
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(server.port),
            "broadcastops.asgi:application",
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(server.port),
            "benchmarks.streaming_designs:application",
        ]
    env = {**server.env, "BENCH_SOURCE": str(source)}
    process = subprocess.Popen(
        _pinned(0, command),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(server.url + "/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("daphne did not start") from None
                time.sleep(0.2)
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
                ],
            ),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        cpu_start = wall_start = None
        rss_peak = 0.0
        result = None
        for line in client.stdout:
            if line.startswith("MEASURE_START"):
                cpu_start, wall_start = _cpu_seconds(process.pid), time.monotonic()
            elif line.startswith("MEASURE_END"):
                cpu = _cpu_seconds(process.pid) - cpu_start
                wall = time.monotonic() - wall_start
                rss_peak = server_rss(process.pid)
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        client.wait(60)
        if result is None:
            raise RuntimeError("the client process printed no result")
        result.update(
            design=design, viewers=viewers, server_cpu_pct=100 * cpu / wall, server_rss_mb=rss_peak
        )
        delivered = result["fps_median"] * result["connected"]
        result["cpu_us_per_msg"] = (cpu / wall) / delivered * 1e6 if delivered else None
        return result
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


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


def render(results: list[dict], source_note: str, args) -> str:
    lines = [
        "# Live-frame fan-out (benchmarks/streaming_fanout.py)",
        "",
        f"Source: 1280x720 30 fps, {source_note}; JPEG quality 85. One daphne process "
        f"(CPU 0), viewers in one client process (CPU 1), {args.warmup:g} s warm-up then "
        f"{args.seconds:g} s measured. Machine: {os.cpu_count()} cores. "
        f"Run {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "| design | viewers (connected) | frames/s per viewer: median ; slowest "
        "| latency p50 / p99 ms | web CPU % of a core | µs CPU per frame sent | web RSS MB "
        "| client CPU % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        us = f"{r['cpu_us_per_msg']:.0f}" if r.get("cpu_us_per_msg") else "-"
        lines.append(
            f"| {r['design']} | {r['viewers']} ({r['connected']}) | "
            f"{r['fps_median']:.1f} ; {r['fps_min']:.1f} | "
            f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} | "
            f"{r['server_cpu_pct']:.0f} | {us} | {r['server_rss_mb']:.0f} | "
            f"{r['client_cpu_pct']:.0f} |"
        )
    lines += [
        "",
        "hub: this project's design (one decode and one encode per frame, in-process hub, "
        "acknowledged sends). naive: one shared decode, one JPEG encode per viewer per frame. "
        "group_send: one encode, fan-out through Channels' InMemoryChannelLayer group_send. "
        "direct: one encode, every frame sent to every viewer at once without flow control "
        "(acknowledgements read and ignored): the floor of daphne's cost, not a design to ship.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="1,100,300")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--designs", default="hub,naive,group_send,direct")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        args.viewers = int(args.viewers)
        client_main(args)
        return

    from streaming.tests.daphne_server import daphne_prepare

    counts = [int(v) for v in args.viewers.split(",")]
    designs = args.designs.split(",")
    with tempfile.TemporaryDirectory(prefix="streaming-bench-") as tmp:
        tmp_path = Path(tmp)
        source, source_note = make_source(tmp_path)
        server = daphne_prepare(tmp_path / "data", LOG_LEVEL="ERROR")
        if "hub" in designs:
            prepare_hub(server, source)
        results = []
        for design in designs:
            for viewers in counts:
                print(f"running {design} with {viewers} viewers…", file=sys.stderr, flush=True)
                results.append(run_cell(server, design, viewers, args, source))
    table = render(results, source_note, args)
    print(table)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(table)


if __name__ == "__main__":
    main()
