"""Inventory poll benchmark: the real poller against naive ones, on a large simulated account.

Usage: .venv/bin/python benchmarks/inventory_poll.py [--channels 200] [--on-air 50] [--flows 400]
           [--latency-ms 50] [--failovers 10] [--changes 5] [--steady-s 60] [--skip-idle-wave]
           [--database-url postgres://... --redis-url redis://.../N --out FILE]

Everything runs in this process on loopback: Django on a temporary SQLite data folder (the
embedded mode: ``DATABASE_URL`` and ``REDIS_URL`` from the environment are ignored), or with
``--database-url``/``--redis-url`` on that PostgreSQL database and Redis database (both emptied
first: give it ones of your own; the cache, the poll's lock and the rate limiter then live in
Redis; the refresh and delivery tasks still run on this process's stand-ins), the Tencent
simulator on a free port loaded with ``benchmarks/scenario_gen.py``'s scenario and a fixed
latency per call, and a fake Slack webhook. The phases, in order:

1. Naive serial poller: one thread, no client-side limiter, every list and then the three detail
   calls of each channel one after the other.
2. Naive unbounded parallel poller: the channel list, then 200 threads at once, no limiter and
   no retry (the SDK's default), so the cloud's throttle shows.
   Both naive pollers use ``TencentGateway`` with its limiter disabled (``rate_fraction=0``) and
   ``max_retries=0``: the same SDK, signing and parsing as the application, none of its pacing.
3. The real poller's first poll, ``inventory_poll(full=True)``, on the empty database.
4. A beat thread calling ``inventory_poll()`` every ``INVENTORY_ON_AIR_INTERVAL_S`` (each tick on
   its own thread, so an overlapping tick is skipped by the poll's lock, as with Celery), and a
   delivery thread sending PENDING notifications every 0.5 s (the Celery worker's part):
   a. steady state for ``--steady-s``;
   b. ``--changes`` on-air channels stopped through the API: a quiet poll against a poll with
      K changes (writes are counted by the poll and, independently, as SQL INSERT/UPDATE/DELETE
      statements on the poll's connection);
   c. ``--failovers`` MAIN inputs cut (``/_sim/signal``) at random moments over 30 s, on
      distinct on-air channels; each one's time until the fake Slack receives a message naming
      that channel;
   e. push callbacks: every channel's ``EventNotifySettings`` names the console's
      ``/api/v1/tencent/events``, served in this process (Django's WSGI handler on a loopback
      thread). Phase c runs with the simulator's callbacks dropped (``/_sim/callbacks``
      ``drop``: a URL the cloud cannot reach, so the poll alone finds the failovers); this
      phase sends them, and ``--failovers`` other MAIN inputs are cut the same way. A
      callback's refreshes (``channel_refresh_task``) run on timer threads standing in for the
      Celery worker, at their countdowns;
   d. (unless ``--skip-idle-wave``) the beat keeps going until the idle channels come due
      again (``INVENTORY_IDLE_INTERVAL_S`` after the first poll), to see that poll's effect on
      the on-air refresh.

The simulator records each request on arrival (``sim.requests``) but not its answer, and keeps
no count of throttle rejections: this file wraps the simulator instance's ``_throttle`` method
to count the ``RequestLimitExceeded`` answers (the simulator's code is not changed).
"""

import argparse
import itertools
import json
import logging
import math
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "inventory_poll.md"
STATS_ACTION = "DescribeStreamLiveChannelInputStatistics"
QUOTA_PER_S = 20  # the documented per-action quota the simulator enforces
DELIVERY_EVERY_S = 0.5
NOTIFY_KEY = "bench-notify-key"
# failover -> Slack measured before the callbacks (commit 94a08f5, README): the dropped row's bar.
TODAY_P50, TODAY_P95 = 15.5, 18.0
ARRIVAL_WAIT_S = 60  # how long after the last failover its Slack messages may take


# --- set-up ---------------------------------------------------------------------------------
def django_setup(database_url: str = "", redis_url: str = "") -> str:
    """Django on a fresh temporary data folder (SQLite, file cache, filesystem broker), or on
    the PostgreSQL database and Redis database given, both emptied first (use ones of your own).
    """
    data_dir = tempfile.mkdtemp(prefix="broadcastops-bench-")
    os.environ["BROADCASTOPS_DATA_DIR"] = data_dir  # read once, when settings load
    os.environ["DJANGO_SETTINGS_MODULE"] = "broadcastops.settings"
    for name in ("DATABASE_URL", "REDIS_URL", "SLACK_WEBHOOK_URL"):
        os.environ.pop(name, None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()  # the limiter's slots, the poll's lock
        os.environ["REDIS_URL"] = redis_url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if database_url:
        call_command("flush", verbosity=0, interactive=False)
    return data_dir


class FakeSlack:
    """A Slack incoming webhook on loopback recording (arrival time, payload)."""

    def __init__(self):
        self.received: list[tuple[float, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake.received.append((time.time(), json.loads(self.rfile.read(length))))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="slack").start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SimWatch:
    """What the simulator saw: its request log, and the throttle rejections it answered."""

    def __init__(self, server):
        from broadcastops.cloud.simulator.wire import TencentApiError

        self.sim = server.sim
        self.rejections: list[tuple[float, str]] = []
        tencent = self.sim.tencent
        original = tencent._throttle

        def counted(service, secret_id, action):
            try:
                original(service, secret_id, action)
            except TencentApiError:
                self.rejections.append((time.time(), action))
                raise

        # An instance attribute shadows the method: observation only, the logic is untouched.
        tencent._throttle = counted

    def requests(self, t0: float, t1: float) -> list[dict]:
        with self.sim.lock:
            return [
                e for e in self.sim.requests if e["vendor"] == "tencent" and t0 <= e["time"] <= t1
            ]

    def rejected(self, t0: float, t1: float) -> int:
        # A rejection is answered after the latency sleep: allow for it past the window.
        slack = self.sim.latency_ms / 1000 + 1
        return sum(1 for t, _a in self.rejections if t0 <= t <= t1 + slack)


# --- measures -------------------------------------------------------------------------------
def window_counts(times: list[float], window_s: float) -> list[int]:
    """For each call, how many calls its trailing ``window_s`` (itself included) holds."""
    times = sorted(times)
    counts, first = [], 0
    for last, t in enumerate(times):
        while times[first] <= t - window_s:
            first += 1
        counts.append(last - first + 1)
    return counts


def rates_by_action(entries: list[dict]) -> dict[str, tuple[int, int, int, int]]:
    """action -> (calls, most calls in any 1 s, most calls in any 5 s, calls whose trailing
    1 s holds more than half the quota plus the one-call burst)."""
    times = defaultdict(list)
    for e in entries:
        times[e["action"]].append(e["time"])
    limit = QUOTA_PER_S / 2 + 1
    out = {}
    for action, ts in times.items():
        per_s = window_counts(ts, 1.0)
        out[action] = (
            len(ts),
            max(per_s),
            max(window_counts(ts, 5.0)),
            sum(1 for n in per_s if n > limit),
        )
    return out


def conforms(count: int, rate_per_s: float, window_s: float) -> bool:
    """Whether ``count`` calls in ``window_s`` fit ``rate_per_s`` with a burst of one call (the
    GCRA definition the client limiter implements: at most rate * window + 1). Calls paced every
    100 ms arrive with a few ms of jitter, so some 1 s windows hold 11 of them."""
    return count <= rate_per_s * window_s + 1


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (with 10 samples p95 is the largest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


@dataclass
class PollRecord:
    tick: int
    started: float
    finished: float
    report: object
    sql_writes: int


def poll_once(*, full: bool = False, tick: int = -1) -> PollRecord:
    """One ``inventory_poll`` on this thread's connection, counting its SQL writes."""
    from django.db import connection

    from broadcastops.inventory.services.sync import inventory_poll

    writes = 0

    def count_writes(execute, sql, params, many, context):
        nonlocal writes
        if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes += len(params) if many else 1
        return execute(sql, params, many, context)

    started = time.time()
    with connection.execute_wrapper(count_writes):
        report = inventory_poll(full=full)
    return PollRecord(tick, started, time.time(), report, writes)


class Beat:
    """``inventory_poll()`` every ``interval_s`` on a fresh thread, like beat plus a worker."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self.records: list[PollRecord] = []
        self.errors: list[str] = []
        self.cond = threading.Condition()
        self._halt = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ticker = threading.Thread(target=self._tick, name="beat", daemon=True)

    def start(self) -> None:
        self.started = time.time()
        self._ticker.start()

    def _tick(self) -> None:
        origin, tick = time.monotonic(), 0
        while not self._halt.is_set():
            thread = threading.Thread(target=self._poll, args=(tick,), daemon=True)
            self._threads.append(thread)
            thread.start()
            tick += 1
            self._halt.wait(max(0.0, origin + tick * self.interval_s - time.monotonic()))

    def _poll(self, tick: int) -> None:
        from django.db import connection

        try:
            record = poll_once(tick=tick)
        except Exception as exc:  # reported in the results, not lost in a thread
            self.errors.append(f"tick {tick}: {exc!r}")
            return
        finally:
            connection.close()
        with self.cond:
            self.records.append(record)
            self.cond.notify_all()

    def polls(self) -> list[PollRecord]:
        with self.cond:
            return sorted((r for r in self.records if not r.report.skipped), key=lambda r: r.tick)

    def wait_for(self, predicate, timeout_s: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.polls_unlocked()), timeout_s)

    def polls_unlocked(self) -> list[PollRecord]:
        return sorted((r for r in self.records if not r.report.skipped), key=lambda r: r.tick)

    def stop(self) -> None:
        self._halt.set()
        self._ticker.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=60)
        self.finished = time.time()


class Deliverer(threading.Thread):
    """Stands in for the Celery worker's delivery: each ``notification_deliver_task`` that
    ``notify`` enqueues (on commit) is delivered at once on a thread of its own, as a worker
    takes it off the broker; a sweep every 0.5 s sends what is still PENDING (the task's
    retries). One delivery at a time (the benchmark's worker has no claim on a row)."""

    def __init__(self):
        super().__init__(name="deliver", daemon=True)
        from broadcastops.notify import tasks

        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.errors: list[str] = []
        tasks.notification_deliver_task.delay = lambda pk: threading.Thread(
            target=self._deliver_now, args=(pk,), daemon=True
        ).start()

    def _deliver(self, pk: int) -> None:
        from broadcastops.notify.services import notification_deliver
        from broadcastops.notify.slack import DeliveryTransientError

        with self._lock:
            try:
                notification_deliver(notification_id=pk)
            except DeliveryTransientError:
                pass  # still PENDING: the sweep retries it
            except Exception as exc:
                self.errors.append(f"notification {pk}: {exc!r}")

    def _deliver_now(self, pk: int) -> None:
        from django.db import connection

        try:
            self._deliver(pk)
        finally:
            connection.close()

    def run(self) -> None:
        from django.db import connection

        from broadcastops.notify.models import Notification

        try:
            while not self._halt.wait(DELIVERY_EVERY_S):
                pending = Notification.objects.filter(status=Notification.Status.PENDING)
                for pk in pending.order_by("pk").values_list("pk", flat=True):
                    self._deliver(pk)
        finally:
            connection.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


class Console:
    """The console's HTTP side on loopback (Django's WSGI handler), for the callbacks."""

    def __init__(self):
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        from django.core.wsgi import get_wsgi_application

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        class Threading(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        self.server = make_server(
            "127.0.0.1", 0, get_wsgi_application(), server_class=Threading, handler_class=Quiet
        )
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/tencent/events"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="console").start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Refresher:
    """Stands in for the Celery worker's part in the callbacks: each enqueued
    ``channel_refresh_task`` runs on a timer thread at its countdown."""

    def __init__(self):
        from broadcastops.inventory import tasks

        # (queued at, countdown, started, finished, channel id, report)
        self.runs: list[tuple[float, float, float, float, str, object]] = []
        self.errors: list[str] = []
        task = tasks.channel_refresh_task
        task.delay = lambda channel_id: self._later(channel_id, 0.0)
        task.apply_async = lambda args, countdown=0.0: self._later(args[0], countdown)

    def _later(self, channel_id: str, countdown: float) -> None:
        threading.Timer(countdown, self._run, args=(channel_id, time.time(), countdown)).start()

    def _run(self, channel_id: str, queued: float, countdown: float) -> None:
        from django.db import connection

        from broadcastops.inventory.services.sync import channel_refresh

        started = time.time()
        try:
            report = channel_refresh(channel_id=channel_id)
            self.runs.append((queued, countdown, started, time.time(), channel_id, report))
        except Exception as exc:
            self.errors.append(f"refresh {channel_id}: {exc!r}")
        finally:
            connection.close()


# --- naive pollers ----------------------------------------------------------------------------
def naive_gateway(server):
    """The application's gateway with its pacing removed: no limiter, no retry."""
    from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY
    from broadcastops.cloud.tencent import TencentGateway

    return TencentGateway(
        secret_id=SIM_SECRET_ID,
        secret_key=SIM_SECRET_KEY,
        region="ap-seoul",
        endpoint=server.url,
        timeout_s=10.0,
        max_retries=0,
        rate_fraction=0,
    )


def naive_details(gateway, channel_id: str, now: datetime) -> list[str]:
    """The three detail calls of one channel; returns the error codes."""
    from broadcastops.cloud.errors import CloudError

    calls = (
        lambda: gateway.live_channel_input_statistics(
            channel_id=channel_id, start=now - timedelta(seconds=60), end=now, period="5s"
        ),
        lambda: gateway.live_channel_alert_list(channel_id=channel_id),
        lambda: gateway.live_channel_log_list(
            channel_id=channel_id, start=now - timedelta(hours=1), end=now
        ),
    )
    codes = []
    for call in calls:
        try:
            call()
        except CloudError as exc:
            codes.append(exc.code)
    return codes


def naive_lists(gateway) -> list:
    return [
        gateway.live_channel_list,
        gateway.live_input_list,
        gateway.link_flow_list,
        gateway.package_channel_list,
        gateway.css_stream_online_list,
    ]


@dataclass
class NaiveResult:
    duration_s: float
    errors: Counter = field(default_factory=Counter)
    complete: int = 0  # channels whose three detail calls all answered
    channels: int = 0


def naive_serial(gateway) -> NaiveResult:
    started, now = time.monotonic(), datetime.now(UTC)
    channels = gateway.live_channel_list()
    for listing in naive_lists(gateway)[1:]:
        listing()
    errors, complete = Counter(), 0
    for channel in channels:
        codes = naive_details(gateway, channel.id, now)
        errors.update(codes)
        complete += not codes
    return NaiveResult(time.monotonic() - started, errors, complete, len(channels))


def naive_parallel(gateway, threads: int) -> NaiveResult:
    from broadcastops.cloud.errors import CloudError

    started, now = time.monotonic(), datetime.now(UTC)
    channels = gateway.live_channel_list()
    errors, complete = Counter(), 0

    def listing(call):
        try:
            call()
            return []
        except CloudError as exc:
            return [exc.code]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        lists = [pool.submit(listing, call) for call in naive_lists(gateway)[1:]]
        details = [pool.submit(naive_details, gateway, c.id, now) for c in channels]
        for future in lists:
            errors.update(future.result())
        for future in details:
            codes = future.result()
            errors.update(codes)
            complete += not codes
    return NaiveResult(time.monotonic() - started, errors, complete, len(channels))


# --- the run --------------------------------------------------------------------------------
def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=UTC)


def sim_post(url: str, verb: str, body: dict) -> dict:
    import requests

    response = requests.post(f"{url}/_sim/{verb}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def run(args) -> dict:
    """Every phase; returns the raw measures for ``render``."""
    from django.conf import settings

    from benchmarks.scenario_gen import channel_name, on_air_indexes, scenario_generate
    from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY, serve_in_thread
    from broadcastops.cloud.tencent import tencent_gateway

    rng = random.Random(args.seed)
    scenario = scenario_generate(channels=args.channels, on_air=args.on_air, flows=args.flows)
    settings.TENCENT_EVENTS_NOTIFY_KEY = NOTIFY_KEY
    console = Console()
    refresher = Refresher()
    for channel in scenario["mdl"]["channels"]:
        push = {"NotifyUrl": console.url, "NotifyKey": NOTIFY_KEY}
        channel["EventNotifySettings"] = {"PushEventSettings": push}
    ids = [c["Id"] for c in scenario["mdl"]["channels"]]
    main_inputs = [c["AttachedInputs"][0]["Id"] for c in scenario["mdl"]["channels"]]
    on_air = on_air_indexes(args.channels, args.on_air)
    server = serve_in_thread(scenario, start_delay_s=0.5, stop_delay_s=0.5)
    server.sim.latency_ms = args.latency_ms
    watch = SimWatch(server)
    settings.TENCENTCLOUD_ENDPOINT = server.url
    settings.TENCENTCLOUD_SECRET_ID = SIM_SECRET_ID
    settings.TENCENTCLOUD_SECRET_KEY = SIM_SECRET_KEY
    tencent_gateway.cache_clear()
    out: dict = {"phases": {}, "scenario": scenario["_comment"], "code": code_version()}

    def phase(name: str, t0: float, t1: float) -> None:
        out["phases"][name] = {
            "window": (t0, t1),
            "rates": rates_by_action(watch.requests(t0, t1)),
            "rejected": watch.rejected(t0, t1),
        }

    # 1-2. Naive pollers (their failures would flood the log: warnings off meanwhile).
    logging.disable(logging.WARNING)
    gateway = naive_gateway(server)
    print("naive serial poller ...", flush=True)
    t0 = time.time()
    out["serial"] = naive_serial(gateway)
    phase("naive serial", t0, time.time())
    time.sleep(2)  # the cloud's one-second buckets refill
    print("naive parallel poller ...", flush=True)
    t0 = time.time()
    out["parallel"] = naive_parallel(gateway, threads=args.channels)
    phase("naive parallel", t0, time.time())
    logging.disable(logging.INFO)
    time.sleep(2)

    # 3. The real poller's first, full poll.
    print("first full poll ...", flush=True)
    out["full"] = poll_once(full=True)
    phase("real: first full poll", out["full"].started, out["full"].finished)

    # 4. Beat and delivery, as in production.
    slack = FakeSlack()
    settings.SLACK_WEBHOOK_URL = slack.url
    deliverer = Deliverer()
    deliverer.start()
    beat = Beat(settings.INVENTORY_ON_AIR_INTERVAL_S)
    beat.start()
    print(f"steady polls every {beat.interval_s} s for {args.steady_s} s ...", flush=True)
    time.sleep(args.steady_s)

    # 4b. K channels stopped right after a poll; the next poll is the one with K changes.
    seen = len(beat.polls())
    beat.wait_for(lambda polls: len(polls) > seen, 30)
    stopped = rng.sample(on_air, min(args.changes, len(on_air)))
    print(f"stopping {len(stopped)} on-air channels ...", flush=True)
    out["change_at"] = time.time()
    for index in stopped:
        tencent_gateway().live_channel_stop(channel_id=ids[index])
    beat.wait_for(
        lambda polls: sum(p.started > out["change_at"] for p in polls) >= 2, 3 * beat.interval_s
    )

    # 4c and 4e. Failovers at random moments on distinct on-air channels: callbacks dropped,
    # then sent.
    candidates = [i for i in on_air if i not in stopped]
    victims = rng.sample(candidates, min(2 * args.failovers, len(candidates)))

    def inject(chosen: list[int], mode: str) -> dict:
        sim_post(server.url, "callbacks", {"mode": mode})
        offsets = sorted(rng.uniform(0, args.inject_window_s) for _ in chosen)
        print(
            f"injecting {len(chosen)} failovers over {args.inject_window_s} s, callbacks "
            f"{mode} ...",
            flush=True,
        )
        origin = time.time()
        injected: dict[int, float] = {}
        for index, offset in zip(chosen, offsets, strict=True):
            time.sleep(max(0.0, origin + offset - time.time()))
            injected[index] = time.time()
            sim_post(
                server.url,
                "signal",
                {"input_id": main_inputs[index], "pipeline": None, "present": False},
            )

        def arrivals() -> dict[int, tuple[float, str]]:
            found = {}
            for index, at in injected.items():
                name = channel_name(index)
                for received, payload in list(slack.received):
                    if received >= at and name in json.dumps(payload):
                        found[index] = (received - at, payload.get("text", ""))
                        break
            return found

        deadline = time.time() + ARRIVAL_WAIT_S
        while len(arrivals()) < len(injected) and time.time() < deadline:
            time.sleep(0.5)
        log = sim_post(server.url, "callbacks", {})["log"]
        return {
            "injected": injected,
            "arrived": arrivals(),
            "stages": stages(injected),
            "start": origin,
            "end": time.time(),
            "callbacks": Counter(e["outcome"] for e in log if e["at"] >= origin),
            "accepted": sum(1 for e in log if e["at"] >= origin and e.get("status") == 200),
        }

    def stages(injected: dict[int, float]) -> dict[int, dict]:
        """Per cut, where the time went: the callback's arrival, the failover notification's
        creation and what created it (a push refresh, with its timings, or a poll), and
        whether the channel was flagged "callbacks configured, none arrived"."""
        from broadcastops.inventory.models import LiveChannel, PushEvent
        from broadcastops.notify.models import Notification

        found = {}
        for index, at in injected.items():
            cid = ids[index]
            push = (
                PushEvent.objects.filter(channel__cloud_id=cid, received_at__gte=_dt(at))
                .order_by("received_at")
                .first()
            )
            note = (
                Notification.objects.filter(
                    subject=cid, event="channel.failover", created_at__gte=_dt(at)
                )
                .order_by("created_at")
                .first()
            )
            row: dict = {
                "callback": push.received_at.timestamp() - at if push else None,
                "notified": note.created_at.timestamp() - at if note else None,
                "by": "poll",
                "missing": LiveChannel.objects.get(cloud_id=cid).push_missing_since is not None,
            }
            if note is not None:
                made = note.created_at.timestamp()
                for _q, countdown, started, finished, channel_id, report in list(refresher.runs):
                    if channel_id == cid and started - 0.05 <= made <= finished + 0.05:
                        row.update(
                            by=f"refresh +{countdown:.1f} s",
                            refresh_start=started - at,
                            calls=report.details_s,
                            lock_wait=report.lock_wait_s,
                        )
                        break
            found[index] = row
        return found

    half = len(victims) // 2
    out["failovers"] = inject(victims[:half], "drop")
    out["failover_at"] = out["failovers"]["start"]
    time.sleep(beat.interval_s)  # the last poll-found failover settles before the next phase
    refreshes_before = len(refresher.runs)
    out["pushed"] = inject(victims[half:], "send")
    out["pushed"]["refreshes"] = refresher.runs[refreshes_before:]
    out["failover_end"] = time.time()

    # 4d. The idle channels' refresh, INVENTORY_IDLE_INTERVAL_S after the first poll.
    idle_count = args.channels - len(on_air)
    out["wave"] = None
    if not args.skip_idle_wave and idle_count:
        due_at = out["full"].started + settings.INVENTORY_IDLE_INTERVAL_S
        print(f"waiting for the idle refresh (~{due_at - time.time():.0f} s) ...", flush=True)

        def wave_done(polls):
            waves = [p for p in polls if p.report.details >= idle_count // 2]
            return bool(waves) and any(p.tick > waves[0].tick for p in polls)

        beat.wait_for(wave_done, max(0.0, due_at - time.time()) + 60)
        waves = [p for p in beat.polls() if p.report.details >= idle_count // 2]
        out["wave"] = waves[0] if waves else None
    beat.stop()
    deliverer.stop()
    phase("real: beat (all later polls)", beat.started, beat.finished)

    out.update(
        beat=beat,
        deliverer=deliverer,
        stopped=stopped,
        on_air=on_air,
        ids=ids,
        stats_calls=[
            (e["time"], (e["params"] or {}).get("ChannelId"))
            for e in watch.requests(beat.started, beat.finished)
            if e["action"] == STATS_ACTION
        ],
        slack_messages=len(slack.received),
    )
    out["refresher"] = refresher
    slack.close()
    console.close()
    server.shutdown()
    server.server_close()
    return out


# --- the report -----------------------------------------------------------------------------
def refresh_gaps(out: dict) -> tuple[list[float], list[float]]:
    """Gaps between consecutive statistics calls per on-air channel during the beat: those
    ending before the idle refresh poll started, and those ending at or after it."""
    watched = {out["ids"][i] for i in out["on_air"] if i not in out["stopped"]}
    times = defaultdict(list)
    for at, channel_id in out["stats_calls"]:
        if channel_id in watched:
            times[channel_id].append(at)
    wave_start = out["wave"].started if out["wave"] else float("inf")
    steady, wave = [], []
    for calls in times.values():
        calls.sort()
        for a, b in itertools.pairwise(calls):
            (steady if b < wave_start else wave).append(b - a)
    return steady, wave


def code_version() -> str:
    """The commit measured, and the application files changed on top of it (shared tree)."""
    import subprocess

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return done.stdout.rstrip("\n")  # porcelain lines start with a space: keep it

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = [
        line[3:]
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if len(line) > 3
        if not line[3:].startswith("benchmarks/")
    ]
    return f"commit {head}" + (f" + uncommitted changes to {', '.join(dirty)}" if dirty else "")


def database_label() -> str:
    from django.conf import settings
    from django.db import connection

    cache = "Redis cache and limiter" if settings.REDIS_URL else "file cache, in-process limiter"
    return f"{connection.vendor} ({cache})"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(args, out: dict, elapsed_s: float) -> str:
    from django.conf import settings

    beat: Beat = out["beat"]
    polls = beat.polls()
    change_polls = [p for p in polls if p.started > out["change_at"]]
    change_poll = change_polls[0] if change_polls else None
    after_change = change_polls[1] if len(change_polls) > 1 else None
    steady_polls = [p for p in polls if p.finished < out["change_at"]]
    quiet_writes = [p.report.writes for p in steady_polls]
    quiet_sql = [p.sql_writes for p in steady_polls]
    steady_durations = [p.report.duration_s for p in polls if p is not out["wave"]]
    skipped = sum(1 for r in beat.records if r.report.skipped)
    gaps, wave_gaps = refresh_gaps(out)
    latencies = [lat for lat, _text in out["failovers"]["arrived"].values()]
    injected = len(out["failovers"]["injected"])
    full = out["full"]
    real = [out["phases"]["real: first full poll"], out["phases"]["real: beat (all later polls)"]]
    real_peak = max((r[1] for p in real for r in p["rates"].values()), default=0)
    real_sustained = max((r[2] for p in real for r in p["rates"].values()), default=0)
    real_rejected = sum(p["rejected"] for p in real)
    real_calls = sum(r[0] for p in real for r in p["rates"].values())
    real_over = sum(r[3] for p in real for r in p["rates"].values())
    serial, parallel = out["serial"], out["parallel"]
    half = QUOTA_PER_S / 2
    # The poll's lane and the push refresh's lane, each paced with a one-call burst.
    lanes = QUOTA_PER_S * (
        settings.CLOUD_RATE_LIMIT_FRACTION + settings.CLOUD_PUSH_RATE_LIMIT_FRACTION
    )

    lines = [
        "# Inventory poll benchmark",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs (nproc) · "
        f"{database_label()} · "
        f"Python {sys.version.split()[0]} · the simulator in the same process · "
        f"{args.latency_ms} ms latency per call · {elapsed_s:.0f} s in all · load average "
        f"(1/5/15 min) at the start {out['load'][0]}, at the end {out['load'][1]}",
        "",
        f"Code: {out['code']}.",
        "",
        f"Scenario: {out['scenario']} Command: `.venv/bin/python benchmarks/inventory_poll.py "
        f"--channels {args.channels} --on-air {args.on_air} --flows {args.flows} "
        f"--latency-ms {args.latency_ms} --failovers {args.failovers}`",
        "",
        "| figure | target | measured | |",
        "|---|---|---|---|",
        f"| whole inventory: first poll, `full=True`, {args.channels} channels detailed | "
        f"< 25 s (floor {args.channels} calls at {half:.0f}/s = {args.channels / half:.0f} s) | "
        f"{full.report.duration_s:.1f} s | {verdict(full.report.duration_s < 25)} |",
        f"| on-air channels: time between two detail refreshes (steady) | ~10 s | "
        f"median {pct(gaps, 50):.1f} s, p95 {pct(gaps, 95):.1f} s, max {max(gaps, default=0):.1f} s"
        f" ({len(gaps)} gaps) | {verdict(bool(gaps) and max(gaps) <= 11)} |",
    ]
    if out["wave"] is not None:
        wave, worst = out["wave"].report, max(wave_gaps, default=0)
        lines.append(
            f"| on-air refresh gap across the {settings.INVENTORY_IDLE_INTERVAL_S} s idle "
            f"refresh poll ({wave.details} channels, {wave.duration_s:.1f} s) | ~10 s | "
            f"max {worst:.1f} s, p95 {pct(wave_gaps, 95):.1f} s | {verdict(worst <= 11)} |"
        )
    lines += [
        f"| steady poll duration ({len(steady_durations)} polls, {skipped} ticks skipped) | "
        f"< {settings.INVENTORY_ON_AIR_INTERVAL_S} s | median {pct(steady_durations, 50):.1f} s, "
        f"max {max(steady_durations, default=0):.1f} s | "
        f"{verdict(max(steady_durations, default=0) < settings.INVENTORY_ON_AIR_INTERVAL_S)} |",
        f"| real poller and push refreshes: busiest action, most calls in any 1 s (cloud allows "
        f"{QUOTA_PER_S}) | the poll's {half:.0f}/s + the push lane's {lanes - half:.0f}/s, "
        f"i.e. ≤ {lanes + 2:.0f} in any 1 s | {real_peak} "
        f"({real_over} of {real_calls} calls' trailing 1 s above {half + 1:.0f}) | "
        f"{verdict(real_peak <= lanes + 2)} |",
        f"| real poller and push refreshes: busiest action, most calls in any 5 s | "
        f"≤ {5 * lanes + 2:.0f} | {real_sustained} ({real_sustained / 5:.1f}/s) | "
        f"{verdict(real_sustained <= 5 * lanes + 2)} |",
        f"| real poller: RequestLimitExceeded | 0 | {real_rejected} | "
        f"{verdict(real_rejected == 0)} |",
        f"| naive serial poller: one cycle | (about 30 s) | {serial.duration_s:.1f} s, "
        f"{sum(serial.errors.values())} errors | reference |",
        f"| naive parallel poller ({args.channels} threads): one cycle | (throttled) | "
        f"{parallel.duration_s:.1f} s, "
        f"{out['phases']['naive parallel']['rejected']} RequestLimitExceeded, "
        f"{parallel.complete}/{parallel.channels} channels complete | reference |",
        f"| DB writes, quiet poll ({len(steady_polls)} steady polls): the poll's own "
        f"(`report.writes`) | almost none | median {pct(quiet_writes, 50):.0f}, max "
        f"{max(quiet_writes, default=0)} | {verdict(max(quiet_writes, default=0) <= 2)} |",
        f"| DB writes, quiet poll: every SQL INSERT/UPDATE/DELETE, after-poll hooks included | "
        f"almost none | median {pct(quiet_sql, 50):.0f}, max {max(quiet_sql, default=0)} | "
        f"{verdict(max(quiet_sql, default=0) <= 2)} |",
    ]
    if change_poll is not None:
        lines.append(
            f"| DB writes, poll with {len(out['stopped'])} channels stopped | ∝ changes | "
            f"{change_poll.report.changed} changed, report.writes {change_poll.report.writes}, "
            f"SQL writes {change_poll.sql_writes}"
            + (
                f"; next poll {after_change.report.writes} / {after_change.sql_writes}"
                if after_change
                else ""
            )
            + " | see below |"
        )
    if out["wave"] is not None:
        after_wave = next((p for p in polls if p.tick > out["wave"].tick), None)
        wave = out["wave"]
        lines.append(
            f"| DB writes, idle refresh poll and the poll after it (no cloud change) | "
            f"almost none | {wave.report.changed} changed, report.writes {wave.report.writes}"
            + (f"; next poll {after_wave.report.writes}" if after_wave else "")
            + f" | {verdict(wave.report.writes <= 2)} |"
        )
    pushed = out["pushed"]
    pushed_lat = [lat for lat, _text in pushed["arrived"].values()]
    pushed_n = len(pushed["injected"])
    lines += [
        f"| failover → Slack, callbacks dropped: the poll alone ({len(latencies)}/{injected} "
        f"arrived) | no worse than the poll before callbacks (p50 {TODAY_P50} s, p95 "
        f"{TODAY_P95} s) | p50 {pct(latencies, 50):.1f} s, p95 {pct(latencies, 95):.1f} s, max "
        f"{max(latencies, default=float('nan')):.1f} s | "
        f"{verdict(len(latencies) == injected and pct(latencies, 95) <= TODAY_P95)} |",
        f"| failover → Slack, callbacks sent ({len(pushed_lat)}/{pushed_n} arrived) | p95 < 5 s "
        f"| p50 {pct(pushed_lat, 50):.1f} s, p95 {pct(pushed_lat, 95):.1f} s, max "
        f"{max(pushed_lat, default=float('nan')):.1f} s | "
        f"{verdict(len(pushed_lat) == pushed_n and pct(pushed_lat, 95) < 5)} |",
        f"| callbacks in the sent phase: sent, answered 200, refreshes run | 2 per cut (one per "
        f"pipeline), all 200 | {pushed['callbacks'].get('sent', 0)} sent, "
        f"{pushed['accepted']} answered 200, {len(pushed['refreshes'])} refreshes "
        f"({sum(1 for *_t, r in pushed['refreshes'] if r.errors)} failed) | "
        f"{verdict(pushed['accepted'] == 2 * pushed_n)} |",
        f'| dropped phase: failed-over channels flagged "callbacks configured, none arrived" '
        f"| all | {sum(st['missing'] for st in out['failovers']['stages'].values())}/{injected} | "
        f"{verdict(all(st['missing'] for st in out['failovers']['stages'].values()))} |",
        f"| sent phase: channels flagged so (callbacks arrived) | none | "
        f"{sum(st['missing'] for st in pushed['stages'].values())}/{pushed_n} | "
        f"{verdict(not any(st['missing'] for st in pushed['stages'].values()))} |",
        f"| callbacks in the dropped phase | none arrive | "
        f"{out['failovers']['callbacks'].get('dropped', 0)} dropped, "
        f"{out['failovers']['accepted']} answered | "
        f"{verdict(out['failovers']['accepted'] == 0)} |",
    ]

    lines += [
        "",
        "## Calls per action (as the simulator received them)",
        "",
        f"| phase | action | calls | most in any 1 s | most in any 5 s | 1 s windows above "
        f"{QUOTA_PER_S // 2 + 1} | RequestLimitExceeded (phase) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, data in out["phases"].items():
        first = True
        for action, (calls, peak, sustained, over) in sorted(data["rates"].items()):
            rejected = data["rejected"] if first else ""
            lines.append(
                f"| {name if first else ''} | {action} | {calls} | {peak:.0f} | "
                f"{sustained} | {over} | {rejected} |"
            )
            first = False

    lines += [
        "",
        "## Polls",
        "",
        "Writes: `report.writes` (what the poll counts) and SQL INSERT/UPDATE/DELETE statements "
        "on its connection (notifications, events and the after-poll hooks included). Duration: "
        "`report.duration_s`, then the wall time including the after-poll hooks.",
        "",
        "| t (s) | poll | duration (s) | with after-poll hooks (s) | lists (s) | details and "
        "writes (s) | in write transactions (s) | longest lock wait (s) | details | changed | "
        "events | writes | SQL writes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def label(p: PollRecord) -> str:
        if p is full:
            return "first, full=True"
        if p is out["wave"]:
            return "idle refresh due"
        if p is change_poll:
            return f"after {len(out['stopped'])} stops"
        if out["failover_at"] <= p.started <= out["failover_end"]:
            return "failover phase"
        return "steady"

    for p in [full, *polls]:
        r = p.report
        lines.append(
            f"| {p.started - full.started:.0f} | {label(p)} | {r.duration_s:.1f} | "
            f"{p.finished - p.started:.1f} | {r.list_s:.1f} | {r.details_s:.1f} | "
            f"{r.write_s:.2f} | {r.lock_wait_s:.2f} | {r.details} | "
            f"{r.changed} | {r.events} | {r.writes} | {p.sql_writes} |"
        )

    lines += [
        "",
        "## Failovers (MAIN cut on both pipelines; LossThreshold 3000 ms)",
        "",
        "Seconds after the cut: the first callback stored (`PushEvent.received_at`), the "
        "failover notification created, by what (a push refresh with its countdown, its "
        "cloud calls and its wait to open the write transaction, or the poll), the Slack "
        'message; "flagged": the channel shows "callbacks configured, none arrived".',
        "",
        "| callbacks | channel | injected at t (s) | callback (s) | notified (s) | by | "
        "refresh: start / calls / lock wait (s) | to Slack (s) | flagged | first message |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    from benchmarks.scenario_gen import channel_name

    def sec(value) -> str:
        return f"{value:.1f}" if value is not None else "—"

    for mode, run_ in (("dropped", out["failovers"]), ("sent", out["pushed"])):
        for index, at in run_["injected"].items():
            latency, text = run_["arrived"].get(index, (None, "(none)"))
            st = run_["stages"].get(index, {})
            refresh = (
                f"{st['refresh_start']:.1f} / {st['calls']:.2f} / {st['lock_wait']:.2f}"
                if "refresh_start" in st
                else "—"
            )
            lines.append(
                f"| {mode} | {channel_name(index)} | {at - full.started:.0f} | "
                f"{sec(st.get('callback'))} | {sec(st.get('notified'))} | {st.get('by', '—')} | "
                f"{refresh} | {sec(latency)} | {'yes' if st.get('missing') else 'no'} | "
                f"{text[:60]} |"
            )
    # The longest gaps, to see what each one fell across (a skipped tick, a long poll).
    watched = {out["ids"][i]: i for i in out["on_air"] if i not in out["stopped"]}
    per_channel = defaultdict(list)
    for at, channel_id in out["stats_calls"]:
        if channel_id in watched:
            per_channel[channel_id].append(at)
    worst = sorted(
        (
            (b - a, a, b, channel_id)
            for channel_id, calls in per_channel.items()
            for a, b in itertools.pairwise(sorted(calls))
        ),
        reverse=True,
    )[:5]
    if worst:
        lines += [
            "",
            "Longest gaps between two statistics calls of an on-air channel (t of the two "
            "calls; the polls are in the table above): "
            + "; ".join(
                f"{channel_name(watched[cid])} {gap:.1f} s ({a - full.started:.0f} → "
                f"{b - full.started:.0f})"
                for gap, a, b, cid in worst
            ),
        ]
    problems = beat.errors + out["deliverer"].errors + out["refresher"].errors
    if problems:
        lines += ["", "Errors: " + "; ".join(problems[:10])]
    lines += [
        "",
        "Naive pollers use `TencentGateway` with the limiter disabled (`rate_fraction=0`) and "
        "`max_retries=0`. Error codes: serial "
        f"{dict(serial.errors) or 'none'}, parallel {dict(parallel.errors) or 'none'}. "
        f"Slack messages received in all: {out['slack_messages']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--on-air", type=int, default=50)
    parser.add_argument("--flows", type=int, default=400)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--failovers", type=int, default=10)
    parser.add_argument("--changes", type=int, default=5, help="on-air channels to stop")
    parser.add_argument("--steady-s", type=float, default=60)
    parser.add_argument("--inject-window-s", type=float, default=30)
    parser.add_argument("--skip-idle-wave", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL database of your own (emptied first)"
    )
    parser.add_argument(
        "--redis-url", default="", help="a Redis database of your own (emptied first)"
    )
    parser.add_argument("--out", default=str(RESULTS), help="the results file")
    args = parser.parse_args()

    started = time.monotonic()
    load_before = "/".join(f"{x:.2f}" for x in os.getloadavg())
    django_setup(args.database_url, args.redis_url)
    out = run(args)
    out["load"] = (load_before, "/".join(f"{x:.2f}" for x in os.getloadavg()))
    table = render(args, out, time.monotonic() - started)
    target = Path(args.out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(table, encoding="utf-8")
    print(table)
    print(f"written to {target}")


if __name__ == "__main__":
    main()
