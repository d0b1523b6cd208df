"""The per-address throttle of the anonymous report endpoint, kept in the web process.

A request costs one dictionary lookup here, before its body is read; DRF's throttle would
read and write the cache (a file in the embedded mode) on every report. The price: each web
process counts for itself, so behind a load balancer spreading one address over N processes
that address gets up to N times the rate.

GCRA (a token bucket kept as one time per address): ``ERRORLOGS_THROTTLE_PER_S`` requests a
second sustained, bursts of up to ``ERRORLOGS_THROTTLE_BURST``; past that the caller is told
how long to wait.
"""

import math
import threading
import time

from django.conf import settings

# Addresses remembered at most; past that, those whose bucket is full again are forgotten.
MAX_ADDRESSES = 100_000


class AddressThrottle:
    def __init__(self) -> None:
        self._due: dict[str, float] = {}  # address -> when its bucket is full again
        self._lock = threading.Lock()

    def retry_after_s(self, address: str, *, now: float | None = None) -> int | None:
        """Count one request of ``address``; None if allowed, else the seconds to wait."""
        rate: float = settings.ERRORLOGS_THROTTLE_PER_S
        if rate <= 0:
            return None
        interval = 1.0 / rate
        burst: int = settings.ERRORLOGS_THROTTLE_BURST
        tolerance = interval * (max(burst, 1) - 1)
        now = time.monotonic() if now is None else now
        with self._lock:
            due = max(self._due.get(address, now), now)
            if due - now > tolerance:
                return max(1, math.ceil(due - now - tolerance))
            self._due[address] = due + interval
            if len(self._due) > MAX_ADDRESSES:
                self._forget(now)
        return None

    def _forget(self, now: float) -> None:
        full = [address for address, due in self._due.items() if due <= now]
        for address in full:
            del self._due[address]
        if len(self._due) > MAX_ADDRESSES:  # all busy: forget the oldest half
            for address in list(self._due)[: len(self._due) // 2]:
                del self._due[address]

    def clear(self) -> None:
        with self._lock:
            self._due.clear()


throttle = AddressThrottle()
