"""IVS stage autoscaling benchmark: 2,000 viewers joining one show at once.

Usage: .venv/bin/python benchmarks/ivs_joins.py [--viewers 2000] [--capacity 400]
           [--threshold 360] [--threads 8] [--clients 32] [--phases decisions,http,scaled]
           [--database-url postgres://...] [--redis-url redis://...]

The show has 400 seats a stage and scales up at 360 (the team's 45 of 50), so 2,000 viewers
fit in the master and 5 secondaries. Every phase runs in a process of its own (its settings),
against the simulator (``manage.py cloudsim``, its own process) and a real Celery worker that
runs the scale actions; loopback only, every loop bounded in count and time.

``decisions`` (embedded: SQLite WAL, the filesystem broker)
    The decision alone (``seat_take``: no token call), from ``--threads`` threads in one
    process: (a) 2,000 viewers on a show whose stages are created as it fills (a viewer told
    "a stage is coming" tries again 10 ms later); (b) the same viewers on a show whose six
    stages exist already: the decision rate with nothing to wait for; (c) one thread.
``http`` (embedded)
    The whole join over HTTP (the decision, then CreateParticipantToken, paced at IVS's 50/s)
    through one web process (``broadcastops.webserver``), ``--clients`` client threads.
``scaled`` (PostgreSQL + Redis: the broker, the cache, the rate limiter, the mirror)
    The decision alone against PostgreSQL, as in ``decisions`` (b); then the joins over HTTP
    split between two web processes.

Each run checks that no stage is over capacity and each stage's count equals its seats,
counts the stages against the number the rule implies, and times every scale-up: the
crossing (the seat that brought the free seats down to the trigger) -> the scale-up begun
(its action written) -> CreateStage at the simulator -> the stage active.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ivs_joins.md"
PYTHON = sys.executable
SIM_SECRET_ID = "AKIDsimulator0000000000000000000000"
SIM_SECRET_KEY = "simulator-secret-key-0000000000000"  # the simulator's own demo key
RUN_LIMIT_S = 600  # every phase ends within this, whatever happens


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def stages_implied(viewers: int, capacity: int, threshold: int, max_stages: int = 6) -> int:
    """The rule: with n stages, one more when the viewers reach (n-1) x capacity + threshold."""
    n = 1
    while n < max_stages and viewers >= (n - 1) * capacity + threshold:
        n += 1
    return n


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- processes ------------------------------------------------------------------------------
class Processes:
    def __init__(self) -> None:
        self.items: list[subprocess.Popen] = []

    def start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        # Each process's errors go to a file of the phase's data folder (kept for reading).
        log = Path(env.get("BROADCASTOPS_DATA_DIR", tempfile.gettempdir())) / (
            f"{Path(args[0]).name}-{len(self.items)}.log"
        )
        process = subprocess.Popen(
            [PYTHON, *args],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        self.items.append(process)
        return process

    def stop(self) -> None:
        for process in self.items:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.items:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait_http(url: str, what: str, timeout_s: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not answer within {timeout_s} s")


def sim_requests(sim_url: str, action: str) -> list[dict]:
    import requests

    query = f"{sim_url}/_sim/requests?service=ivs&action={action}"
    return requests.get(query, timeout=10).json()["requests"]


# --- inside a phase's process (Django set up with its settings) -----------------------------
def django_up() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def show_live(name: str, *, capacity: int, threshold: int, sim_url: str) -> object:
    """A show with its master created (by the worker), the broadcaster publishing, doors open."""
    import requests

    from broadcastops.actions.types import Actor
    from ivs_scaling.models import Show, Stage
    from ivs_scaling.services.scaling import show_watch_all
    from ivs_scaling.services.shows import ShowSpec, publisher_token_create, show_create

    show, _ = show_create(
        spec=ShowSpec(name=name, capacity=capacity, scale_up_threshold=threshold),
        actor=Actor(),
    )
    deadline = time.monotonic() + 60
    while not Stage.objects.filter(show=show, role="master", state="active").exists():
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not create the master stage within 60 s")
        time.sleep(0.1)
    token = publisher_token_create(show=show, user_id="host", actor=Actor())
    requests.post(
        f"{sim_url}/_sim/ivs/join", json={"token": token.token, "publish": True}, timeout=10
    ).raise_for_status()
    show_watch_all()
    show.refresh_from_db()
    assert show.doors_open
    return Show.objects.get(pk=show.pk)


def show_ready(name: str, *, capacity: int, threshold: int) -> object:
    """A show whose six stages exist already (rows only: the decision calls no cloud)."""
    from django.utils import timezone

    from ivs_scaling.models import Show, Stage

    show = Show.objects.create(
        name=name, capacity=capacity, scale_up_threshold=threshold, doors_opened_at=timezone.now()
    )
    for n in range(6):
        Stage.objects.create(
            show=show,
            role="master" if n == 0 else "secondary",
            state="active",
            name=f"{name}-{n + 1}",
            arn=f"arn:aws:ivs:ap-northeast-2:123456789012:stage/{name[:4]}{n:08d}",
            create_id=os.urandom(16).hex(),
            capacity=capacity,
            replication_state="none" if n == 0 else "active",
        )
    return show


def decide_all(show: object, viewers: int, threads: int) -> dict:
    """``viewers`` decisions from ``threads`` threads; a "stage is coming" retries in 10 ms."""
    from django.db import connection

    from broadcastops.errors import Conflict
    from ivs_scaling.services.seats import NoRoom, seat_take

    timings: list[float] = []
    refused = Counter()
    lock = threading.Lock()
    started = time.perf_counter()
    cpu_started = time.process_time()

    def viewer(i: int) -> None:
        for _attempt in range(3000):
            t0 = time.perf_counter()
            try:
                seat_take(show=show, user_id=f"viewer-{i}")
                outcome = "ok"
            except NoRoom:
                outcome = "stage_pending"
            except Conflict as exc:
                outcome = exc.code
            elapsed = time.perf_counter() - t0
            with lock:
                timings.append(elapsed)
                if outcome != "ok":
                    refused[outcome] += 1
            if outcome == "ok":
                return
            if outcome != "stage_pending":
                raise SystemExit(f"viewer {i}: {outcome}")
            time.sleep(0.01)
        raise SystemExit(f"viewer {i} never got a seat")

    def run(chunk: range) -> None:
        try:
            for i in chunk:
                viewer(i)
        finally:
            connection.close()

    chunks = [range(t, viewers, threads) for t in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, chunks))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "viewers": viewers,
        "threads": threads,
        "wall_s": wall,
        "decisions": len(timings),
        "decisions_per_s": len(timings) / wall,
        # The deciding process's own CPU (every thread): what a core of the node does when
        # nobody else wants it (the shared machine takes the rest of the wall time).
        "cpu_s": cpu,
        "decisions_per_cpu_s": len(timings) / cpu if cpu else 0.0,
        "seated_per_s": viewers / wall,
        "p50_ms": percentile(timings, 0.5) * 1000,
        "p99_ms": percentile(timings, 0.99) * 1000,
        "refused": dict(refused),
    }


def books(show: object) -> dict:
    """Per stage: count, seats, capacity; and the stages the show ended with."""
    from ivs_scaling.models import Seat, Stage

    rows = []
    for stage in Stage.objects.filter(show=show).exclude(state="deleted").order_by("created_at"):
        rows.append(
            {
                "name": stage.name,
                "state": stage.state,
                "viewers": stage.viewer_count,
                "seats": Seat.objects.filter(stage=stage).count(),
                "capacity": stage.capacity,
                "replication": stage.replication_state,
            }
        )
    over = [r for r in rows if r["viewers"] > r["capacity"] or r["seats"] > r["capacity"]]
    wrong = [r for r in rows if r["viewers"] != r["seats"]]
    return {"stages": rows, "over_capacity": len(over), "count_mismatch": len(wrong)}


def wait_stages_done(show: object, timeout_s: float = 120) -> None:
    from ivs_scaling.models import Stage

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stages = Stage.objects.filter(show=show).exclude(state="deleted")
        if (
            not stages.filter(state="creating").exists()
            and not stages.filter(role="secondary", replication_state="pending").exists()
        ):
            return
        time.sleep(0.2)


def scale_ups(show: object, sim_url: str) -> list[dict]:
    """Each scale-up: crossing -> begun -> CreateStage at the simulator -> active (ms)."""
    from ivs_scaling.models import Seat, Stage

    seats = list(Seat.objects.filter(show=show).order_by("pk").values_list("created_at", flat=True))
    creates = {
        r["params"]["tags"]["broadcastops:create-id"]: r["time"]
        for r in sim_requests(sim_url, "CreateStage")
        if r["params"] and "broadcastops:create-id" in (r["params"].get("tags") or {})
    }
    out = []
    secondaries = Stage.objects.filter(show=show, role="secondary").order_by("created_at")
    for n, stage in enumerate(secondaries, start=1):
        event = show.events.filter(kind="scale_up", stage=stage).first()
        index = (n - 1) * show.capacity + show.scale_up_threshold  # the seat that crossed
        if event is None or index > len(seats):
            continue
        crossing = seats[index - 1]
        entry = {
            "stage": stage.name,
            "crossing_to_begun_ms": (event.at - crossing).total_seconds() * 1000,
        }
        if stage.create_id in creates:
            sent = datetime.fromtimestamp(creates[stage.create_id], tz=UTC)
            entry["crossing_to_create_stage_ms"] = (sent - crossing).total_seconds() * 1000
        if stage.activated_at:
            entry["crossing_to_active_ms"] = (stage.activated_at - crossing).total_seconds() * 1000
        out.append(entry)
    return out


def http_joins(urls: list[str], viewers: int, clients: int) -> dict:
    """``viewers`` anonymous joins over HTTP, ``clients`` at a time, spread over ``urls``."""
    import requests

    latencies: list[float] = []
    statuses: Counter = Counter()
    per_url: Counter = Counter()
    lock = threading.Lock()
    local = threading.local()
    deadline = time.monotonic() + RUN_LIMIT_S

    def viewer(i: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        url = urls[i % len(urls)]
        for _attempt in range(500):
            if time.monotonic() > deadline:
                raise SystemExit("the HTTP joins ran past the time limit")
            t0 = time.perf_counter()
            response = session.post(
                f"{url}/api/stage/join", json={"show": "bench", "userId": f"v{i}"}, timeout=60
            )
            elapsed = time.perf_counter() - t0
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    latencies.append(elapsed)
                    per_url[url] += 1
            if response.status_code == 200:
                return
            if response.status_code != 503:
                raise SystemExit(f"viewer {i}: {response.status_code} {response.text[:200]}")
            time.sleep(float(response.headers.get("Retry-After", "1")) / 10)
        raise SystemExit(f"viewer {i} never got a seat")

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(viewer, range(viewers)))
    wall = time.perf_counter() - started
    return {
        "viewers": viewers,
        "clients": clients,
        "wall_s": wall,
        "joins_per_s": viewers / wall,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "statuses": {str(k): v for k, v in statuses.items()},
        "per_process": list(per_url.values()),
    }


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="broadcastops.settings",
        # As in production: no query log per statement, plain HTTP on loopback.
        DEBUG="False",
        SECRET_KEY="benchmark-only-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="False",
        LOG_LEVEL="WARNING",
        IVS_JOIN_THROTTLE="10000000/min",
        IVS_WATCH_INTERVAL_S="3600",
        IVS_RECONCILE_INTERVAL_S="3600",
        INVENTORY_ON_AIR_INTERVAL_S="3600",
        HEARTBEAT_INTERVAL_S="3600",
        **extra,
    )
    return env


def worker(processes: Processes, env: dict[str, str]) -> None:
    processes.start(
        [
            "-m",
            "celery",
            "-A",
            "broadcastops",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
        env,
    )


def web(processes: Processes, env: dict[str, str]) -> str:
    port = free_port()
    processes.start(
        [
            "-m",
            "broadcastops.webserver",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "broadcastops.asgi:application",
        ],
        env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/admin/login/", "the web process")
    return url


def phase(name: str, args: argparse.Namespace) -> dict:
    """The body of one phase, in its own process (settings from the environment)."""
    django_up()
    if name == "scaled":
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)
    env = dict(os.environ)
    processes = Processes()
    result: dict = {"phase": name, "load_before": load()}
    try:
        worker(processes, env)
        if name == "decisions":
            show = show_live(
                "bench", capacity=args.capacity, threshold=args.threshold, sim_url=args.sim_url
            )
            result["growing"] = decide_all(show, args.viewers, args.threads)
            wait_stages_done(show)
            result["growing_books"] = books(show)
            result["scale_ups"] = scale_ups(show, args.sim_url)
            ready = show_ready("ready", capacity=args.capacity, threshold=args.threshold)
            result["ready"] = decide_all(ready, args.viewers, args.threads)
            result["ready_books"] = books(ready)
            one = show_ready("single", capacity=args.capacity, threshold=args.threshold)
            result["one_thread"] = decide_all(one, args.viewers, 1)
        elif name == "http":
            url = web(processes, env)
            show = show_live(
                "bench", capacity=args.capacity, threshold=args.threshold, sim_url=args.sim_url
            )
            result["http"] = http_joins([url], args.viewers, args.clients)
            wait_stages_done(show)
            result["books"] = books(show)
            result["scale_ups"] = scale_ups(show, args.sim_url)
        elif name == "scaled":
            ready = show_ready("ready", capacity=args.capacity, threshold=args.threshold)
            result["ready"] = decide_all(ready, args.viewers, args.threads)
            result["ready_books"] = books(ready)
            urls = [web(processes, env), web(processes, env)]
            show = show_live(
                "bench", capacity=args.capacity, threshold=args.threshold, sim_url=args.sim_url
            )
            result["http"] = http_joins(urls, args.viewers, args.clients)
            wait_stages_done(show)
            result["books"] = books(show)
            result["scale_ups"] = scale_ups(show, args.sim_url)
    finally:
        processes.stop()
    result["load_after"] = load()
    return result


# --- the parent -----------------------------------------------------------------------------
def scaled_reset(redis_url: str) -> None:
    """The benchmark's Redis database starts empty (the PostgreSQL one is flushed inside)."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def run_phase(name: str, args: argparse.Namespace, sim_url: str) -> dict:
    extra = {
        "AWS_ENDPOINT_URL_IVS_REALTIME": sim_url,
        "AWS_REGION": "ap-northeast-2",
        "AWS_ACCESS_KEY_ID": SIM_SECRET_ID,
        "AWS_SECRET_ACCESS_KEY": SIM_SECRET_KEY,
        "TENCENTCLOUD_ENDPOINT": sim_url,
        "TENCENTCLOUD_SECRET_ID": SIM_SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SIM_SECRET_KEY,
        "BROADCASTOPS_DATA_DIR": tempfile.mkdtemp(prefix=f"bo-ivs-{name}-"),
    }
    if name == "scaled":
        scaled_reset(args.redis_url)
        extra.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url)
    command = [
        PYTHON,
        __file__,
        "--phase",
        name,
        "--sim-url",
        sim_url,
        "--viewers",
        str(args.viewers),
        "--capacity",
        str(args.capacity),
        "--threshold",
        str(args.threshold),
        "--threads",
        str(args.threads),
        "--clients",
        str(args.clients),
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=child_env(extra),
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_S + 120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(results: list[dict], implied: int) -> list[str]:
    """The issue's figures, one row each: measured, and whether the target is met."""
    rows = [
        "| phase | figure | measured | target | met |",
        "| --- | --- | --- | --- | --- |",
    ]

    def row(phase: str, figure: str, measured: str, target: str, met: bool) -> None:
        rows.append(f"| {phase} | {figure} | {measured} | {target} | {'yes' if met else 'NO'} |")

    for result in results:
        phase = result["phase"]
        for key in ("growing_books", "books", "ready_books"):
            if key in result:
                stages = len(result[key]["stages"])
                over = result[key]["over_capacity"] + result[key]["count_mismatch"]
                row(phase, f"{key}: stages over capacity or miscounted", str(over), "0", not over)
                if key != "ready_books":
                    row(phase, f"{key}: stages", str(stages), str(implied), stages == implied)
        for key in ("growing", "ready", "one_thread"):
            if key in result:
                r = result[key]
                measured = (
                    f"{r['decisions_per_s']:,.0f}/s wall ({r['decisions_per_cpu_s']:,.0f} per "
                    f"CPU-second), p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.1f} ms"
                )
                wanted = key != "growing"  # a growing show's viewers also wait for stages
                row(
                    phase,
                    f"{key} ({r['threads']} threads): decisions",
                    measured,
                    ">= 1,000/s" if wanted else "(waits for CreateStage)",
                    r["decisions_per_s"] >= 1000 or not wanted,
                )
        if "http" in result:
            r = result["http"]
            row(
                phase,
                f"HTTP joins ({len(r['per_process'])} web processes, {r['clients']} clients)",
                f"{r['joins_per_s']:,.0f}/s, statuses {r['statuses']}",
                "(token calls paced at 50/s)",
                True,
            )
        ups = result.get("scale_ups") or []
        if ups:
            begun = max(u["crossing_to_begun_ms"] for u in ups)
            sent = max(u.get("crossing_to_create_stage_ms", float("inf")) for u in ups)
            row(
                phase,
                "scale-up begun after the crossing (worst)",
                f"{begun:,.0f} ms",
                "<= 1 s",
                begun <= 1000,
            )
            row(
                phase,
                "CreateStage sent after the crossing (worst)",
                f"{sent:,.0f} ms",
                "(the worker's turn)",
                True,
            )
    return [*rows, ""]


def report(args: argparse.Namespace, results: list[dict], before: str, after: str) -> str:
    implied = stages_implied(args.viewers, args.capacity, args.threshold)
    lines = [
        "# IVS joins benchmark (`benchmarks/ivs_joins.py`)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {args.viewers} viewers, {args.capacity} "
        f"seats a stage, scale-up at {args.threshold}: the rule implies {implied} stages. "
        f"Load average before {before}, after {after} (2 cores, shared).",
        "",
    ]
    lines += summary(results, implied)
    for result in results:
        lines.append(
            f"## {result['phase']} (load {result['load_before']} -> {result['load_after']})"
        )
        lines.append("")
        lines.append("```json")
        lines.append(json.dumps(result, indent=1))
        lines.append("```")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--capacity", type=int, default=400)
    parser.add_argument("--threshold", type=int, default=360)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--phases", default="decisions,http,scaled")
    parser.add_argument(
        "--database-url",
        default="postgres://broadcastops:broadcastops@127.0.0.1:5432/broadcastops_ivs",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--sim-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args), default=str))
        return

    before = load()
    processes = Processes()
    port = free_port()
    sim_env = child_env({"BROADCASTOPS_DATA_DIR": tempfile.mkdtemp(prefix="bo-ivs-sim-")})
    processes.start(["manage.py", "cloudsim", "--port", str(port)], sim_env)
    sim_url = f"http://127.0.0.1:{port}"
    wait_http(f"{sim_url}/_sim/health", "the simulator")
    results = []
    try:
        for name in args.phases.split(","):
            print(f"phase {name}...", flush=True)
            results.append(run_phase(name, args, sim_url))
            print(json.dumps(results[-1], indent=1), flush=True)
    finally:
        processes.stop()
    text = report(args, results, before, load())
    RESULTS.write_text(text + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
