"""The garbage collector's passes of a process, for ``benchmarks/errorlogs_gc.py``.

On ``PYTHONPATH``, Python imports this at start-up. With ``GCLOG=FILE`` every full pass (and
any pass over 5 ms) is a line: when, the generation, how long, objects freed, the peak RSS.
With ``GCTYPES=FILE`` too, the collector keeps what it frees (``gc.DEBUG_SAVEALL``: memory
grows, so figures of such a run are not figures) and the first full pass that frees more than
``GCTHRESH`` objects (default 30,000) writes a census of them by type, and of their frames
by function.
"""

import os

if os.environ.get("GCLOG"):
    import collections
    import gc
    import resource
    import time

    _log = open(os.environ["GCLOG"], "a", buffering=1)  # noqa: SIM115  # the process's life
    _started: list[float] = [0.0]
    _census_done: list[bool] = []

    def _census(path: str) -> None:
        garbage = gc.garbage
        types = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in garbage)
        frames = collections.Counter(
            f"{o.f_code.co_filename.split('site-packages/')[-1]}:{o.f_code.co_name}"
            for o in garbage
            if type(o).__name__ == "frame"
        )
        with open(path, "w") as out:
            out.write(f"garbage {len(garbage)}\n")
            out.writelines(f"{n} {name}\n" for name, n in types.most_common(40))
            out.write("frames:\n")
            out.writelines(f"{n} {name}\n" for name, n in frames.most_common(25))

    def _recorded(phase: str, info: dict) -> None:
        if phase == "start":
            _started[0] = time.perf_counter()
            return
        took_ms = (time.perf_counter() - _started[0]) * 1000
        if info["generation"] == 2 or took_ms > 5:
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            _log.write(
                f"{time.time():.3f} gen{info['generation']} {took_ms:.1f}ms "
                f"collected={info['collected']} maxrss={rss_mb}MB\n"
            )
        census = os.environ.get("GCTYPES")
        threshold = int(os.environ.get("GCTHRESH", "30000"))
        big = info["generation"] == 2 and info["collected"] > threshold
        if census and big and not _census_done:
            _census_done.append(True)
            _census(census)

    if os.environ.get("GCTYPES"):
        gc.set_debug(gc.DEBUG_SAVEALL)
    gc.callbacks.append(_recorded)
