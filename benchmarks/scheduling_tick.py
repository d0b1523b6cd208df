"""Scheduling benchmark: the beat tick over a large schedules table, and the KPIs over a year.

Usage: .venv/bin/python benchmarks/scheduling_tick.py [--schedules 1000,10000] [--channels 200]
           [--due 20] [--runs 15] [--kpi-channels 50] [--kpi-days 365] [--kpi-runs 3]
           [--database-url postgres://...]

Everything runs in this process on loopback. By default Django runs on a temporary SQLite data
folder (the embedded mode: ``REDIS_URL`` is ignored, the tick's queued tasks go to the kombu
filesystem broker); ``--database-url`` runs on that PostgreSQL database instead (its rows made
here are deleted at the end: every channel made here is named ``bench-…``). The phases:

1. For each size in ``--schedules``: that many schedules over the next four weeks on
   ``--channels`` channels (a few airing now with their channel running, ``--due`` start steps
   due now), made with ``bulk_create``. Then ``--runs`` timed calls of ``schedule_tick()`` (the
   body of ``schedule_tick_task``), each counting its SQL statements. Before each run the steps
   the previous run claimed go back to pending (untimed), so every run claims ``--due`` steps;
   a quiet tick (nothing due) is timed too.
2. ``--kpi-channels`` channels with ``--kpi-days`` of status history (``ChannelStatus``: a
   daily broadcast window, IDLE -> RUNNING on MAIN -> sometimes a failover to BACKUP and back,
   sometimes a RED incident and its recovery -> IDLE), the failover events, the schedules and
   their start/stop actions. Then the admin KPI page and ``/api/v1/kpis?from=&to=`` over the
   year, ``--kpi-runs`` each after one request timed apart (the process's first: templates,
   catalogues), by a logged-in admin through Django's test client (the whole view, template
   and middleware; no socket), with their SQL statement counts.

Writes ``benchmarks/results/scheduling_tick.md`` (``--append``: adds to it, for a second run on
another database).
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scheduling_tick.md"
PREFIX = "bench-"
TICK_TARGET_MS = 100
KPI_TARGET_S = 1.0


def django_setup(database_url: str | None, redis_url: str | None) -> None:
    data_dir = tempfile.mkdtemp(prefix="broadcastops-bench-")
    os.environ["BROADCASTOPS_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "broadcastops.settings"
    for name in ("DATABASE_URL", "REDIS_URL", "SLACK_WEBHOOK_URL"):
        os.environ.pop(name, None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0, interactive=False)


def uptime() -> str:
    env = {**os.environ, "TZ": "UTC"}
    return subprocess.run(["uptime"], capture_output=True, text=True, env=env).stdout.strip()


def clean() -> None:
    from broadcastops.actions.models import OperatorAction
    from broadcastops.inventory.models import LiveChannel
    from scheduling.models import Schedule

    Schedule.objects.filter(channel__name__startswith=PREFIX).delete()
    OperatorAction.objects.filter(target_id__startswith=PREFIX).delete()
    LiveChannel.objects.filter(name__startswith=PREFIX).delete()


def channels_make(n: int, *, tag: str, running: int = 0) -> list:
    from django.utils import timezone

    from broadcastops.inventory.models import LiveChannel

    now = timezone.now()
    rows = [
        LiveChannel(
            cloud_id=f"{PREFIX}{tag}-{i:04d}",
            name=f"{PREFIX}{tag}-{i:04d}",
            state=LiveChannel.State.RUNNING if i < running else LiveChannel.State.IDLE,
            changed_at=now - timedelta(hours=1),
        )
        for i in range(n)
    ]
    return LiveChannel.objects.bulk_create(rows)


# --- phase 1: the tick -------------------------------------------------------------------
def schedules_make(total: int, channels: list, due: int, rng: random.Random) -> None:
    """``total`` schedules: ``due`` whose start is due now, a few on air now, the rest spread
    over the next 4 weeks (their steps pending, none due)."""
    from django.utils import timezone

    from scheduling.models import Schedule, ScheduleStep

    now = timezone.now()
    Kind, State, Status = ScheduleStep.Kind, ScheduleStep.State, Schedule.Status
    airing = min(len(channels) // 10, 10)
    rows, plan = [], []
    for i in range(total):
        channel = channels[i % len(channels)]
        if i < due:  # starts now: the start step is due (the checks are done)
            starts = now - timedelta(seconds=rng.randint(1, 60))
            kind = "due"
        elif i < due + airing:  # on air on a running channel
            channel = channels[i - due]
            starts = now - timedelta(minutes=30)
            kind = "airing"
        else:
            starts = now + timedelta(minutes=rng.randint(150, 28 * 24 * 60))
            kind = "future"
        minutes = 120 if kind == "airing" else rng.choice((30, 60, 90, 120, 180))
        ends = starts + timedelta(minutes=minutes)
        rows.append(
            Schedule(
                title=f"{PREFIX}show {i}",
                channel=channel,
                starts_at=starts,
                ends_at=ends,
                auto_start=True,
                auto_stop=True,
                status=Status.ON_AIR
                if kind == "airing"
                else Status.CHECKING
                if kind == "due"
                else Status.SCHEDULED,
                on_air_at=starts if kind == "airing" else None,
            )
        )
        plan.append(kind)
    Schedule.objects.bulk_create(rows, batch_size=2000)
    steps = []
    for schedule, kind in zip(rows, plan, strict=True):
        s, e = schedule.starts_at, schedule.ends_at
        before = State.DONE if kind != "future" else State.PENDING
        steps += [
            ScheduleStep(
                schedule=schedule, kind=Kind.CHECK_2H, due_at=s - timedelta(hours=2), state=before
            ),
            ScheduleStep(
                schedule=schedule,
                kind=Kind.CHECK_30M,
                due_at=s - timedelta(minutes=30),
                state=before,
            ),
            ScheduleStep(
                schedule=schedule,
                kind=Kind.START,
                due_at=s,
                state=State.DONE if kind == "airing" else State.PENDING,
            ),
            ScheduleStep(schedule=schedule, kind=Kind.STOP, due_at=e, state=State.PENDING),
        ]
    ScheduleStep.objects.bulk_create(steps, batch_size=4000)


def tick_measure(runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scheduling.models import ScheduleStep
    from scheduling.services import schedule_tick

    schedule_tick()  # warm-up, untimed: the first call loads the task registry and the broker
    times, counts, claimed = [], [], []
    for _ in range(runs):
        ScheduleStep.objects.filter(
            state=ScheduleStep.State.CLAIMED, schedule__title__startswith=PREFIX
        ).update(state=ScheduleStep.State.PENDING, claimed_at=None)
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            report = schedule_tick()
            times.append((time.perf_counter() - t0) * 1000)
        counts.append(len(queries.captured_queries))
        claimed.append(len(report.claimed))
    # A quiet tick: the due steps stay claimed, nothing else is due.
    quiet_times, quiet_counts = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            schedule_tick()
            quiet_times.append((time.perf_counter() - t0) * 1000)
        quiet_counts.append(len(queries.captured_queries))
    return {
        "busy_ms": times,
        "busy_queries": counts,
        "claimed": claimed,
        "quiet_ms": quiet_times,
        "quiet_queries": quiet_counts,
    }


# --- phase 2: the KPIs -------------------------------------------------------------------
def history_make(n_channels: int, days: int, rng: random.Random) -> tuple:
    """A year of realistic history: one broadcast a day per channel (two hours at a random
    hour), a failover to BACKUP in ~8 % of them (back to MAIN minutes later), a RED incident
    in ~3 % (recovered within minutes), the schedule (completed) and its start/stop actions."""
    from django.utils import timezone

    from broadcastops.actions.models import OperatorAction, Origin
    from broadcastops.inventory.models import ChannelStatus, FailoverEvent, Health, LiveChannel
    from scheduling.models import Schedule

    channels = channels_make(n_channels, tag="kpi")
    today = timezone.localdate()
    first = today - timedelta(days=days)
    RUN, IDLE = LiveChannel.State.RUNNING, LiveChannel.State.IDLE
    G, R = Health.GREEN, Health.RED
    statuses, events, schedules, actions = [], [], [], []

    def status(c, at, state, active, health):
        statuses.append(
            ChannelStatus(channel=c, at=at, state=state, active_input=active, health=health)
        )

    for c in channels:
        for d in range(days):
            day = first + timedelta(days=d)
            base = timezone.make_aware(
                timezone.datetime(day.year, day.month, day.day, rng.randint(6, 21))
            )
            starts, ends = base, base + timedelta(hours=2)
            on = starts + timedelta(seconds=rng.randint(-120, 60))
            off = ends + timedelta(seconds=rng.randint(0, 90))
            schedules.append(
                Schedule(
                    title=f"{PREFIX}daily {c.pk}",
                    channel=c,
                    starts_at=starts,
                    ends_at=ends,
                    status=Schedule.Status.COMPLETED,
                    auto_start=True,
                    auto_stop=True,
                    on_air_at=on,
                    off_air_at=off,
                )
            )
            automatic = rng.random() < 0.9
            for name, at in (("channel.scheduled_start", on), ("channel.stop", off)):
                actions.append(
                    OperatorAction(
                        action=name if automatic or name == "channel.stop" else "channel.start",
                        target_type="channel",
                        target_id=c.cloud_id,
                        origin=Origin.SCHEDULE if automatic else Origin.ADMIN,
                        status=OperatorAction.Status.SUCCEEDED,
                        created_at=at,
                    )
                )
            status(c, on - timedelta(seconds=30), "STARTING", "MAIN", G)
            status(c, on, RUN, "MAIN", G)
            if rng.random() < 0.08:
                fo = on + timedelta(minutes=rng.randint(5, 100))
                back = fo + timedelta(minutes=rng.randint(1, 10))
                status(c, fo, RUN, "BACKUP", Health.AMBER)
                status(c, back, RUN, "MAIN", G)
                for kind, at in (
                    (FailoverEvent.Kind.FAILOVER, fo),
                    (FailoverEvent.Kind.RECOVER, back),
                ):
                    events.append(
                        FailoverEvent(
                            channel=c,
                            pipeline=0,
                            kind=kind,
                            source=FailoverEvent.Source.OBSERVED,
                            occurred_at=at,
                        )
                    )
            if rng.random() < 0.03:
                down = on + timedelta(minutes=rng.randint(5, 100))
                status(c, down, RUN, "MAIN", R)
                status(c, down + timedelta(seconds=rng.randint(30, 900)), RUN, "MAIN", G)
            status(c, off, IDLE, "MAIN", G)
    Schedule.objects.bulk_create(schedules, batch_size=2000)
    ChannelStatus.objects.bulk_create(statuses, batch_size=4000)
    FailoverEvent.objects.bulk_create(events, batch_size=2000, ignore_conflicts=True)
    created = OperatorAction._meta.get_field("created_at")
    created.auto_now_add = False  # keep the actions' own (past) times
    try:
        OperatorAction.objects.bulk_create(actions, batch_size=2000)
    finally:
        created.auto_now_add = True
    return first, today, len(statuses), len(events), len(schedules), len(actions)


def kpi_measure(first, last, runs: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    user, _ = get_user_model().objects.get_or_create(
        username=f"{PREFIX}admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(user)
    query = f"?from={first.isoformat()}&to={last.isoformat()}"
    out = {}
    for label, url in (
        ("admin KPI page", reverse("admin:scheduling_schedule_kpis") + query),
        ("/api/v1/kpis", "/api/v1/kpis" + query),
    ):
        times, counts = [], []
        # The process's first request loads the templates, catalogues and URL resolvers once:
        # timed apart (a served console has done that already), as the tick's warm-up.
        t0 = time.perf_counter()
        assert client.get(url).status_code == 200
        cold = time.perf_counter() - t0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - t0)
            assert response.status_code == 200, (url, response.status_code)
            counts.append(len(queries.captured_queries))
        out[label] = (url, times, counts, len(response.content), cold)
    user.delete()
    return out


def fmt_ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.1f} ms, max {max(values):.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", default="1000,10000")
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--due", type=int, default=20)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--kpi-channels", type=int, default=50)
    parser.add_argument("--kpi-days", type=int, default=365)
    parser.add_argument("--kpi-runs", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="", help="the Celery broker (default: filesystem)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--append",
        action="store_true",
        help="add this run to the results file under its own heading (a second database)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.schedules.split(",")]
    assert all(0 < s <= 50_000 for s in sizes) and 0 < args.runs <= 100
    assert args.kpi_days <= 400 and args.kpi_channels <= 200 and args.kpi_runs <= 10
    load_before = uptime()
    started = time.time()
    django_setup(args.database_url or None, args.redis_url or None)
    from django.db import connection

    rng = random.Random(args.seed)
    from django.conf import settings

    backend = connection.vendor
    broker = settings.CELERY_BROKER_URL.split(":")[0]
    clean()
    tick = {}
    try:
        for size in sizes:
            clean()
            channels = channels_make(args.channels, tag="tick", running=10)
            t0 = time.perf_counter()
            schedules_make(size, channels, args.due, rng)
            made_s = time.perf_counter() - t0
            tick[size] = tick_measure(args.runs) | {"made_s": made_s}
            print(size, {k: v for k, v in tick[size].items() if k != "made_s"}, flush=True)
        clean()
        t0 = time.perf_counter()
        first, last, n_status, n_events, n_sched, n_actions = history_make(
            args.kpi_channels, args.kpi_days, rng
        )
        history_s = time.perf_counter() - t0
        kpi = kpi_measure(first, last - timedelta(days=1), args.kpi_runs)
        print(kpi, flush=True)
    finally:
        clean()
    load_after = uptime()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    lines = [
        "# Scheduling benchmark: the beat tick and the KPIs",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} · {os.cpu_count()} CPUs · "
        f"Python {sys.version.split()[0]} · database: {backend} · broker: {broker} · "
        f"{time.time() - started:.0f} s in all",
        "",
        f"Code: commit {commit}{' + uncommitted changes' if dirty else ''}. Command: "
        f"`.venv/bin/python benchmarks/scheduling_tick.py {' '.join(sys.argv[1:])}`",
        "",
        f"Load (`uptime`) before: `{load_before}`; after: `{load_after}` (the machine is shared).",
        "",
        "## The tick (`schedule_tick()`, the body of `schedule_tick_task`)",
        "",
        f"{args.channels} channels (10 running); the schedules over the next 4 weeks; each busy "
        f"run (after one untimed warm-up tick) claims the {args.due} start steps due now "
        "(reset to pending between runs, untimed) and follows the on-air schedules; "
        "a quiet run finds nothing due. "
        f"{args.runs} runs each.",
        "",
        "| schedules (steps) | busy tick | busy tick SQL statements | quiet tick | quiet tick "
        "SQL statements | target |",
        "|---|---|---|---|---|---|",
    ]
    for size, r in tick.items():
        ok = max(r["busy_ms"]) < TICK_TARGET_MS and max(r["quiet_ms"]) < TICK_TARGET_MS
        lines.append(
            f"| {size} ({size * 4}) | {fmt_ms(r['busy_ms'])} (claimed {min(r['claimed'])}-"
            f"{max(r['claimed'])}) | {min(r['busy_queries'])}-{max(r['busy_queries'])} | "
            f"{fmt_ms(r['quiet_ms'])} | {min(r['quiet_queries'])}-{max(r['quiet_queries'])} | "
            f"< {TICK_TARGET_MS} ms: {'met' if ok else 'NOT met'} |"
        )
    counts = {size: (max(r["busy_queries"]), max(r["quiet_queries"])) for size, r in tick.items()}
    lines += [
        "",
        "Query count by size (busy, quiet): "
        + ", ".join(f"{s}: {b}, {q}" for s, (b, q) in counts.items())
        + (
            " — the same at every size."
            if len(set(counts.values())) == 1
            else " — NOT the same at every size."
        ),
        "",
        "## The KPIs over a year",
        "",
        f"{args.kpi_channels} channels x {args.kpi_days} days: {n_sched} schedules (one a day "
        f"each, 2 h), {n_status} status rows, {n_events} failover events, {n_actions} actions; "
        f"made in {history_s:.1f} s. Period {first} to {last - timedelta(days=1)} "
        f"(local days). {args.kpi_runs} requests each by a logged-in admin (Django's test "
        "client: middleware, view, template; no socket).",
        "",
        "| page | time per request | first request (cold process) | SQL statements | response "
        "| target |",
        "|---|---|---|---|---|---|",
    ]
    for label, (url, times, qs, size, cold) in kpi.items():
        ok = max(times) < KPI_TARGET_S
        lines.append(
            f"| {label} (`{url}`) | p50 {statistics.median(times):.2f} s, max "
            f"{max(times):.2f} s | {cold:.2f} s | {max(qs)} | {size // 1024} KiB | "
            f"< {KPI_TARGET_S:.0f} s: {'met' if ok else 'NOT met'} |"
        )
    if args.append and RESULTS.exists():
        body = [("#" + line if line.startswith("## ") else line) for line in lines[1:]]
        heading = f"# Another run: {backend}, broker {broker}"
        RESULTS.write_text(RESULTS.read_text() + "\n" + "\n".join([heading, *body]) + "\n")
    else:
        RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
