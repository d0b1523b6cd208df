"""The StreamLive push callbacks the simulator sends (reference/tencent-media-api.md 2.3).

When an RTMP input of a running channel loses or regains its stream, the cloud POSTs a flat
JSON body to the channel's ``EventNotifySettings.PushEventSettings.NotifyUrl``: ``appid``,
``channel_id``, ``event_type`` (329 push succeeded, 330 interrupted), ``input_id``,
``interface`` ``general_callback``, ``pipelie`` (the documented spelling), ``sign`` =
MD5(NotifyKey + t), ``stream_id``, and ``t``, when the signature expires (10 minutes ahead).

Switches (``POST /_sim/callbacks``): ``mode`` ``send`` (default) or ``drop`` (recorded, never
sent: a NotifyUrl the cloud cannot reach), ``delay_s`` (each callback leaves this many
simulated seconds after its event). Delays run on the simulator's clock: ``/_sim/clock``
wakes the sender, so a test that moves the clock gets its delayed callbacks at once. Every
callback is kept in ``log`` with its outcome (``sent`` + HTTP status, ``dropped``, ``failed``).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

SIM_APPID = 1250000000
SIGNATURE_VALIDITY_S = 600  # the cloud's default validity of a callback's signature
SEND_TIMEOUT_S = 5.0
IDLE_EXIT_S = 5.0  # the sender thread ends when nothing is due for this long
MAX_LOG = 5000


def callback_body(
    *, channel_id: str, input_id: str, pipeline: int, event_type: int, key: str, now: float
) -> dict[str, Any]:
    t = int(now) + SIGNATURE_VALIDITY_S
    return {
        "appid": SIM_APPID,
        "channel_id": channel_id,
        "event_type": event_type,
        "input_id": input_id,
        "interface": "general_callback",
        "pipelie": pipeline,
        "sign": hashlib.md5(f"{key}{t}".encode(), usedforsecurity=False).hexdigest(),
        "stream_id": "",
        "t": t,
    }


class PushCallbacks:
    """A queue of callbacks due at simulated times, and the thread that sends them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, str, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self.mode = "send"
        self.delay_s = 0.0
        self.log: list[dict[str, Any]] = []

    def configure(self, *, mode: str | None = None, delay_s: float | None = None) -> dict:
        with self._cond:
            if mode is not None:
                if mode not in ("send", "drop"):
                    raise ValueError("mode is send or drop")
                self.mode = mode
            if delay_s is not None:
                if float(delay_s) < 0:
                    raise ValueError("delay_s must not be negative")
                self.delay_s = float(delay_s)
            return self.state()

    def state(self) -> dict[str, Any]:
        with self._cond:
            return {
                "mode": self.mode,
                "delay_s": self.delay_s,
                "pending": len(self._queue),
                "log": list(self.log[-200:]),
            }

    def _record(self, url: str, body: dict[str, Any], outcome: str, status: int = 0) -> None:
        self.log.append({"at": self._clock(), "url": url, "body": body, "outcome": outcome})
        if status:
            self.log[-1]["status"] = status
        if len(self.log) > MAX_LOG:
            del self.log[: len(self.log) - MAX_LOG]

    def enqueue(self, url: str, body: dict[str, Any], now: float) -> None:
        with self._cond:
            if self.mode == "drop":
                self._record(url, body, "dropped")
                return
            heapq.heappush(self._queue, (now + self.delay_s, next(self._seq), url, body))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cloudsim-callbacks", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def clock_moved(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _next_due(self) -> tuple[str, dict[str, Any]] | None:
        """The next callback once it is due; None after IDLE_EXIT_S with nothing queued."""
        with self._cond:
            idle = 0.0
            while True:
                if self._queue:
                    wait = self._queue[0][0] - self._clock()
                    if wait <= 0:
                        _due, _seq, url, body = heapq.heappop(self._queue)
                        return url, body
                    self._cond.wait(min(wait, 0.5))
                else:
                    if idle >= IDLE_EXIT_S:
                        self._thread = None  # under the lock: the next enqueue starts one
                        return None
                    self._cond.wait(0.5)
                    idle += 0.5

    def _run(self) -> None:
        while (item := self._next_due()) is not None:
            url, body = item
            if not url.startswith(("http://", "https://")):
                with self._cond:
                    self._record(url, body, "failed")
                continue
            data = json.dumps(body).encode()
            request = urllib.request.Request(  # noqa: S310 (http or https, checked above)
                url, data=data, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_S) as response:  # noqa: S310
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ValueError) as exc:
                logger.info("cloudsim: callback to %s failed: %s", url, exc)
                with self._cond:
                    self._record(url, body, "failed")
                continue
            with self._cond:
                self._record(url, body, "sent", status)
