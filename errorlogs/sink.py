"""The day's JSON Lines file of player error reports: ``<ERRORLOGS_DIR>/YYYY-MM-DD.jsonl``.

Lines stay whole with any number of writers in any number of processes: a batch is written
under an exclusive ``flock`` of the file, with ``O_APPEND``, in as many ``write`` calls as the
kernel needs; a batch that fails (the disk is full, the database refused the rows) is cut off
again to where it began before the lock is released, so the file never holds half a line or
a line whose row was rolled back. With ``ERRORLOGS_FSYNC`` the batch is on the disk
(``fsync``) before anyone is told it was kept. The day follows ``TIME_ZONE``.
"""

import fcntl
import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

from errorlogs.types import Report, received_text

logger = logging.getLogger(__name__)


def day_path(day: date) -> Path:
    return Path(settings.ERRORLOGS_DIR) / f"{day.isoformat()}.jsonl"


# One encoder for every line: json.dumps with arguments builds a new one for each call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def lines_by_day(reports: Iterable[Report]) -> dict[date, bytes]:
    days: dict[date, list[str]] = defaultdict(list)
    zone = ZoneInfo(settings.TIME_ZONE)
    # The reports of a request share their receive time: its day and text once, not each.
    received: dict[datetime, tuple[date, str]] = {}
    for report in reports:
        at = report.received_at
        seen = received.get(at)
        if seen is None:
            seen = received[at] = (at.astimezone(zone).date(), received_text(at))
        days[seen[0]].append(_encode(report.line(received_at=seen[1])))
    return {day: ("\n".join(lines) + "\n").encode() for day, lines in days.items()}


class Appended:
    """Lines written and locked: ``undo()`` cuts them off again, ``release()`` unlocks."""

    def __init__(self) -> None:
        self._held: list[tuple[int, int]] = []  # (descriptor, size before the batch)

    def undo(self) -> None:
        for fd, size in self._held:
            try:
                os.ftruncate(fd, size)
            except OSError:
                logger.exception("Could not cut a failed batch off a JSON Lines file")

    def release(self) -> None:
        held, self._held = self._held, []
        for fd, _size in held:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def lines_append(batches: dict[date, bytes]) -> Appended:
    """Append each day's lines; the caller commits, then ``release()`` (``undo()`` first if
    what the lines describe was not kept after all). Raises OSError with nothing appended."""
    appended = Appended()
    try:
        for day in sorted(batches):
            path = day_path(day)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
            except OSError:
                os.close(fd)
                raise
            appended._held.append((fd, size))
            _write_all(fd, batches[day])
            if settings.ERRORLOGS_FSYNC:
                os.fsync(fd)
    except BaseException:
        appended.undo()
        appended.release()
        raise
    return appended
