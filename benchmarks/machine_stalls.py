"""Does this machine stall memory-bound work now and then? Run it before judging a p99.

Usage: .venv/bin/python benchmarks/machine_stalls.py [--seconds 10]

Two loops on one core, each step followed by a 20 ms pause: one that only runs Python
bytecode (it stays in the CPU's caches), one that copies a 1280x720 BGR frame five times in
preallocated arrays (memory-bound, as decoding, encoding and sending frames are). Steps that
take over three times the median are listed with their time. On the 2-core VM of
2026-12-01 both loops ran 3-10x slower for ~50 ms about every 1.5 s, in a lone process on an
idle machine (a tight loop reading the clock saw no gap: the core keeps running, slowly). That
is what set the p99 latency of every design in streaming_fanout.py, the bare floor's too.
"""

import argparse
import os
import statistics
import time

import numpy as np


def _python_step() -> None:
    total = 0
    for index in range(20_000):
        total += index * index


def _memory_step(source: np.ndarray, target: np.ndarray) -> None:
    for _ in range(5):
        np.copyto(target, source)
        target += 1


def measure(step, seconds: float) -> tuple[float, list[tuple[float, float]]]:
    durations = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        step()
        durations.append((begin - started, (time.perf_counter() - begin) * 1000))
        time.sleep(0.02)
    median = statistics.median(ms for _, ms in durations)
    return median, [(at, ms) for at, ms in durations if ms > 3 * median]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    source = np.random.default_rng(7).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    target = np.empty_like(source)
    loops = {
        "python (cache-resident)": _python_step,
        "memory-bound (720p frame copies)": lambda: _memory_step(source, target),
    }
    for name, step in loops.items():
        median, slow = measure(step, args.seconds / 2)
        listed = ", ".join(f"{at:.2f} s: {ms:.1f} ms" for at, ms in slow[:20])
        print(f"{name}: median {median:.2f} ms a step; {len(slow)} steps over 3x: {listed}")


if __name__ == "__main__":
    main()
