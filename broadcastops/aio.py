"""Cancelling a task so that it ends, on Python 3.11.

Python 3.11's ``asyncio.wait_for`` loses a cancellation that arrives just as the operation it
waits for completes (CPython gh-86296, fixed in 3.12 by building it on ``asyncio.timeout``).
redis-py writes every command under ``wait_for`` when a socket timeout is set, so a task
cancelled as it sends a command goes on as if nothing happened: a channel layer's
``receive`` then blocks in BZPOPMIN again and again, for good — a task, a Redis connection
and a poll every five seconds per occurrence, and an event loop that cannot shut down (the
test suite hung in it, in teardown). ``task_cancel`` cancels again until the task ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

logger = logging.getLogger(__name__)

# Long enough for a cancelled task's own cleanup (one Redis round trip) to finish before it
# is interrupted again; short enough that a swallowed cancel costs little.
RECANCEL_EVERY_S = 0.5
RECANCEL_TIMES = 20


def task_cancel(task: asyncio.Future[Any] | None) -> None:
    """Cancel ``task``, and again every half second while it runs, up to ten seconds.

    Call it in the task's event loop. A task still running after that is logged as an
    error (it ignores cancellation by design, which is a bug of its own).
    """
    if task is None or task.done():
        return
    task.cancel()
    task.get_loop().call_later(RECANCEL_EVERY_S, _cancel_again, task, RECANCEL_TIMES)


def _cancel_again(task: asyncio.Future[Any], left: int) -> None:
    if task.done():
        return
    if left <= 0:
        logger.error("Task still running after %d cancellations: %r", RECANCEL_TIMES, task)
        return
    task.cancel()
    task.get_loop().call_later(RECANCEL_EVERY_S, _cancel_again, task, left - 1)
