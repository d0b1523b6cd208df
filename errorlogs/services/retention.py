"""Retention: old rows go, old JSON Lines files are gzipped, then removed."""

import fcntl
import gzip
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from errorlogs.models import ErrorGroup, ErrorReport, Incident, ProbeResult

logger = logging.getLogger(__name__)

_DELETE_CHUNK = 5000  # rows per DELETE: a short write lock each, so the reports keep coming


@dataclass(frozen=True)
class PruneResult:
    reports: int
    groups: int
    incidents: int
    probes: int
    files_compressed: int
    files_removed: int


def _delete_reports(before: datetime) -> int:
    deleted = 0
    while True:
        ids = list(
            ErrorReport.objects.filter(received_at__lt=before)
            .order_by()
            .values_list("pk", flat=True)[:_DELETE_CHUNK]
        )
        if not ids:
            return deleted
        deleted += ErrorReport.objects.filter(pk__in=ids).delete()[0]


def _file_day(path: Path) -> date | None:
    stem = path.name.removesuffix(".gz").removesuffix(".jsonl")
    try:
        return date.fromisoformat(stem)
    except ValueError:
        return None


def _compress(path: Path) -> None:
    """``YYYY-MM-DD.jsonl`` -> ``.jsonl.gz``, whole or not at all (under the file's lock)."""
    target = path.with_name(path.name + ".gz")
    partial = target.with_name(target.name + ".partial")
    with open(path, "rb") as source:
        fcntl.flock(source.fileno(), fcntl.LOCK_EX)
        with gzip.open(partial, "wb") as out:
            shutil.copyfileobj(source, out)
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
        path.unlink()


def _files_prune(*, keep_after: date, compress_before: date) -> tuple[int, int]:
    folder = Path(settings.ERRORLOGS_DIR)
    if not folder.is_dir():
        return 0, 0
    compressed = removed = 0
    for path in sorted(folder.iterdir()):
        day = _file_day(path)
        if day is None or path.name.endswith(".partial"):
            continue
        if day < keep_after:
            path.unlink(missing_ok=True)
            removed += 1
        elif day < compress_before and path.suffix == ".jsonl":
            _compress(path)
            compressed += 1
    return compressed, removed


def errorlogs_prune(*, days: int, now: datetime | None = None) -> PruneResult:
    """Remove what is older than ``days``: reports, groups last seen before, their viewers,
    resolved incidents, probe results; gzip the day files older than
    ``ERRORLOGS_COMPRESS_AFTER_DAYS`` and remove those older than ``days``."""
    now = now or timezone.now()
    before = now - timedelta(days=days)
    reports = _delete_reports(before)
    # A group goes with its viewers once it has not been seen for the retention period.
    groups = ErrorGroup.objects.filter(last_seen_at__lt=before).delete()[0]
    incidents = Incident.objects.filter(
        state=Incident.State.RESOLVED, resolved_at__lt=before
    ).delete()[0]
    probes = ProbeResult.objects.filter(probed_at__lt=before).delete()[0]
    today = now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    compressed, removed = _files_prune(
        keep_after=today - timedelta(days=days),
        compress_before=today - timedelta(days=settings.ERRORLOGS_COMPRESS_AFTER_DAYS),
    )
    result = PruneResult(reports, groups, incidents, probes, compressed, removed)
    logger.info("Error logs pruned (older than %s days): %s", days, result)
    return result
