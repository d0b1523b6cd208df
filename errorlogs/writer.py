"""Group commit: the reports of every request in this web process, kept in batches.

One thread keeps what the requests hand it (``reports_store``: the rows in one transaction,
the lines in one ``fsync``'d append) and tells each request when its reports are on disk; the
request answers 202 only then. While a batch is being written the next one gathers, so the
batch grows with the load and the cost of a commit and an ``fsync`` is shared by everyone in
it: about 3 ms for the ``fsync`` on this machine, whatever the batch's size.

A batch that fails is tried again request by request, so one request's failure never fails
the others'. ``ERRORLOGS_QUEUE_MAX`` bounds what may wait (past it: 503, send again);
``close()`` (SIGTERM, ``registry.WEB_SHUTDOWN``) refuses new reports and writes what waits.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections

from errorlogs.types import Report

logger = logging.getLogger(__name__)


class WriterClosed(Exception):
    """The process is stopping: nothing more is accepted."""


class WriterFull(Exception):
    """``ERRORLOGS_QUEUE_MAX`` reports already wait."""


@dataclass
class _Submission:
    reports: Sequence[Report]
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[int] | None = None
    done: threading.Event = field(default_factory=threading.Event)
    result: int = 0
    error: BaseException | None = None


Store = Callable[[Sequence[Report]], int]


class GroupCommitWriter:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._waiting: deque[_Submission] = deque()
        self._waiting_reports = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # kept batches, for tests and the figures
        self.largest_batch = 0

    # --- the requests' side --------------------------------------------------------------

    def _enqueue(self, submission: _Submission) -> None:
        with self._cond:
            if self._closed:
                raise WriterClosed()
            if self._waiting_reports + len(submission.reports) > settings.ERRORLOGS_QUEUE_MAX:
                raise WriterFull()
            self._waiting.append(submission)
            self._waiting_reports += len(submission.reports)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="errorlogs-writer", daemon=True
                )
                self._thread.start()
            if len(self._waiting) == 1 or self._waiting_reports >= settings.ERRORLOGS_BATCH_MAX:
                self._cond.notify()

    def submit_async(self, reports: Sequence[Report]) -> "asyncio.Future[int]":
        """From the event loop: a future of how many were new, set once they are on disk."""
        loop = asyncio.get_running_loop()
        submission = _Submission(reports, loop=loop, future=loop.create_future())
        self._enqueue(submission)
        assert submission.future is not None
        return submission.future

    def submit(self, reports: Sequence[Report], *, timeout_s: float) -> int:
        """From a thread: keep ``reports`` and wait (TimeoutError past ``timeout_s``)."""
        submission = _Submission(reports)
        self._enqueue(submission)
        if not submission.done.wait(timeout_s):
            raise TimeoutError()
        if submission.error is not None:
            raise submission.error
        return submission.result

    # --- the writer's side ---------------------------------------------------------------

    def _take(self) -> list[_Submission] | None:
        with self._cond:
            while not self._waiting and not self._closed:
                self._cond.wait()
            if not self._waiting:
                return None  # closed and drained
            limit = settings.ERRORLOGS_BATCH_MAX
            # Let a batch gather for a moment: each batch costs its queries and an fsync,
            # and each costs the event loop the interpreter while this thread runs Python.
            linger_until = time.monotonic() + settings.ERRORLOGS_BATCH_LINGER_MS / 1000
            while (
                not self._closed
                and self._waiting_reports < limit
                and (left := linger_until - time.monotonic()) > 0
            ):
                self._cond.wait(left)
            batch: list[_Submission] = []
            count = 0
            while self._waiting and (not batch or count + len(self._waiting[0].reports) <= limit):
                submission = self._waiting.popleft()
                batch.append(submission)
                count += len(submission.reports)
            self._waiting_reports -= count
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            close_old_connections()  # a connection the database closed, or past its age
            try:
                self._keep(batch)
            except BaseException:  # never let the thread die: the requests would hang
                logger.exception("Error reports writer: a batch could not be answered")
        close_old_connections()

    def _keep(self, batch: list[_Submission]) -> None:
        reports = [r for s in batch for r in s.reports]
        try:
            self._store(reports)
        except Exception:
            if len(batch) == 1:
                logger.exception("Error reports: %s reports could not be kept", len(reports))
                batch[0].error = WriterFailed()
            else:
                logger.warning("Error reports: a batch of %s failed; each alone", len(batch))
                for submission in batch:
                    self._keep([submission])
                return
        else:
            self.batches += 1
            self.largest_batch = max(self.largest_batch, len(reports))
            for submission in batch:
                submission.result = len(submission.reports)
        self._answer(batch)

    def _answer(self, batch: list[_Submission]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Submission]] = {}
        for submission in batch:
            if submission.loop is None:
                submission.done.set()
            else:
                by_loop.setdefault(submission.loop, []).append(submission)
        for loop, submissions in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is gone (the process is stopping)
                loop.call_soon_threadsafe(_settle, submissions)

    # --- stopping ------------------------------------------------------------------------

    def close(self, *, timeout_s: float) -> bool:
        """Refuse new reports and write those waiting; True once all are written."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

    def reopen(self) -> None:
        """Accept reports again after ``close()`` (tests)."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError("the writer is still draining")
            self._closed = False
            self._thread = None


class WriterFailed(Exception):
    """The batch could not be kept (the database or the disk refused it)."""


def _settle(submissions: list[_Submission]) -> None:
    for submission in submissions:
        future = submission.future
        if future is None or future.done():
            continue  # the request was cancelled (its client left, the process stops)
        if submission.error is not None:
            future.set_exception(submission.error)
        else:
            future.set_result(submission.result)


def _store(reports: Sequence[Report]) -> int:
    from errorlogs.services.reports import reports_store

    return reports_store(reports=reports)


writer = GroupCommitWriter(_store)
