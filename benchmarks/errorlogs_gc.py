"""The collector after the plain view's burst: what the endpoint in the same process pays.

One web process (``errorlogs_plain_settings``: the endpoint and the plain DRF view side by
side) with ``benchmarks/gcwatch`` recording every full collection (``GCLOG``). The plain
view's single burst of 500 clients runs first, then the endpoint's 1,000 reports/s open-loop
row twice; the log marks where the rows start and end. ``--census FILE`` also counts, by
type, what the collector frees in its first big full pass (``DEBUG_SAVEALL``: the process
keeps all its garbage, so the rates of such a run mean nothing).

    flock -x /work/wt/bench.lock .venv/bin/python -m benchmarks.errorlogs_gc --gc-log /tmp/gc.log
"""

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.errorlogs_load import PLAIN_PATH, REPORT_PATH, SCENARIOS, run, settle
from broadcastops.tests.daphne_server import daphne_prepare

ORIGIN = "http://players.example"
GCWATCH = Path(__file__).resolve().parent / "gcwatch"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gc-log", type=Path, required=True, help="the collector's passes")
    parser.add_argument("--census", type=Path, help="what the first big full pass freed")
    parser.add_argument("--clients", type=int, default=500)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20_000), hard))
    extra = {"GCLOG": str(args.gc_log)}
    if args.census:
        extra["GCTYPES"] = str(args.census)
    pythonpath = os.pathsep.join(p for p in (str(GCWATCH), os.environ.get("PYTHONPATH")) if p)

    def mark(text: str) -> None:
        with args.gc_log.open("a") as log:
            log.write(f"--- {text} {time.time():.3f}\n")

    with tempfile.TemporaryDirectory(prefix="errorlogs-gc-") as work:
        server = daphne_prepare(
            Path(work) / "data",
            DJANGO_SETTINGS_MODULE="benchmarks.errorlogs_plain_settings",
            CORS_ALLOWED_ORIGINS=ORIGIN,
            PYTHONPATH=pythonpath,
            **extra,
        )
        server.start()
        try:
            settle(server.process.pid)
            mark("plain single burst starts")
            plain = run(
                SCENARIOS[0], port=server.port, path=PLAIN_PATH, origin=ORIGIN, clients=args.clients
            )
            print(
                f"plain view, single burst: {plain.rate:,.0f}/s, "
                f"p99 {plain.percentile_ms(0.99):,.0f} ms, {dict(plain.statuses)}"
            )
            settle(server.process.pid)
            for k in range(2):
                mark(f"endpoint row {k} starts")
                row = run(
                    SCENARIOS[2],
                    port=server.port,
                    path=REPORT_PATH,
                    origin=ORIGIN,
                    clients=args.clients,
                )
                mark(f"endpoint row {k} ends")
                print(
                    f"endpoint, 1,000 single/s offered: {row.rate:,.0f}/s, "
                    f"p50 {row.percentile_ms(0.5):,.0f} ms, p99 {row.percentile_ms(0.99):,.0f} ms"
                )
                settle(server.process.pid)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
