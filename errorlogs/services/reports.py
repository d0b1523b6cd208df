"""Keeping reports: the rows, the day's JSON Lines file and the groups, all or nothing."""

import logging
from collections import defaultdict
from collections.abc import Sequence
from itertools import islice

from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Greatest

from errorlogs import sink
from errorlogs.models import ErrorGroup, ErrorGroupClient, ErrorReport
from errorlogs.services.incidents import incidents_note
from errorlogs.types import Report

logger = logging.getLogger(__name__)

_CHUNK = 500  # parameters per IN (...) and rows per INSERT: within SQLite's 999 variables


def _chunks(items: Sequence[Report], size: int = _CHUNK) -> list[Sequence[Report]]:
    iterator = iter(items)
    return [chunk for chunk in iter(lambda: list(islice(iterator, size)), [])]


def _fresh(reports: Sequence[Report]) -> list[Report]:
    """The reports not kept before (a reporter sends a report again until it hears 202)."""
    seen = set()
    for chunk in _chunks(reports):
        seen.update(
            ErrorReport.objects.filter(report_id__in=[r.report_id for r in chunk]).values_list(
                "report_id", flat=True
            )
        )
    fresh = []
    for report in reports:
        if report.report_id not in seen:
            seen.add(report.report_id)
            fresh.append(report)
    return fresh


def _row(report: Report) -> ErrorReport:
    return ErrorReport(
        report_id=report.report_id,
        received_at=report.received_at,
        client_timestamp=report.client_timestamp,
        stream_id=report.stream_id,
        error_type=report.error_type,
        error_type_sent=report.error_type_sent,
        error_message=report.error_message,
        status_code=report.status_code,
        whep_url=report.whep_url,
        whep_host=report.whep_host,
        user_agent=report.user_agent,
        browser_name=report.browser_name,
        browser_version=report.browser_version,
        os=report.os,
        screen_resolution=report.screen_resolution,
        client_address=report.client_address,
        client_key=report.client_key,
        fingerprint=report.fingerprint,
    )


def _groups_count(reports: Sequence[Report]) -> None:
    """Each fingerprint's group: counts, first and last seen, distinct viewers."""
    by_fingerprint: dict[str, list[Report]] = defaultdict(list)
    for report in reports:
        by_fingerprint[report.fingerprint].append(report)
    for fingerprint, items in by_fingerprint.items():
        last = max(r.received_at for r in items)
        counted = dict(
            report_count=F("report_count") + len(items),
            last_seen_at=Greatest("last_seen_at", Value(last)),
        )
        if ErrorGroup.objects.filter(fingerprint=fingerprint).update(**counted):
            continue
        first = items[0]
        try:
            with transaction.atomic():
                ErrorGroup.objects.create(
                    fingerprint=fingerprint,
                    stream_id=first.stream_id,
                    error_type=first.error_type,
                    status_code=first.status_code,
                    whep_host=first.whep_host,
                    first_seen_at=min(r.received_at for r in items),
                    last_seen_at=last,
                    report_count=len(items),
                )
        except IntegrityError:  # another process created it meanwhile
            ErrorGroup.objects.filter(fingerprint=fingerprint).update(**counted)
    group_ids = dict(
        ErrorGroup.objects.filter(fingerprint__in=list(by_fingerprint)).values_list(
            "fingerprint", "id"
        )
    )
    seen: dict[tuple[int, str], ErrorGroupClient] = {}
    for report in reports:
        key = (group_ids[report.fingerprint], report.client_key)
        row = seen.get(key)
        if row is None:
            seen[key] = ErrorGroupClient(
                group_id=key[0], client_key=key[1], last_seen_at=report.received_at
            )
        elif report.received_at > row.last_seen_at:
            row.last_seen_at = report.received_at
    ErrorGroupClient.objects.bulk_create(
        list(seen.values()),
        batch_size=_CHUNK,
        update_conflicts=True,
        unique_fields=["group", "client_key"],
        update_fields=["last_seen_at"],
    )
    viewers = (
        ErrorGroupClient.objects.filter(group=OuterRef("pk"))
        .values("group")
        .annotate(n=Count("*"))
        .values("n")
    )
    ErrorGroup.objects.filter(pk__in=list(group_ids.values())).update(
        client_count=Subquery(viewers)
    )


def reports_store(*, reports: Sequence[Report]) -> int:
    """Keep ``reports``: a row each, a line each in the day's JSON Lines file, their groups
    counted, and an incident opened when they reveal an outage (``incidents_note``).

    All or nothing: an error leaves no row and no line (the lines are written last, under the
    file's lock, and cut off again if the commit fails). A report already kept (its
    ``report_id``) is skipped, so a reporter that sends again after a lost answer is counted
    once. Returns how many were new. Call it outside any transaction: it commits.
    """
    if not reports:
        return 0
    appended: sink.Appended | None = None
    try:
        with transaction.atomic():
            fresh = _fresh(reports)
            if fresh:
                ErrorReport.objects.bulk_create([_row(r) for r in fresh], batch_size=_CHUNK)
                _groups_count(fresh)
                incidents_note(reports=fresh)
                appended = sink.lines_append(sink.lines_by_day(fresh))
    except BaseException:
        if appended is not None:
            appended.undo()
        raise
    finally:
        if appended is not None:
            appended.release()
    return len(fresh)
