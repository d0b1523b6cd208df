"""Keeping reports: the rows, the day's JSON Lines file and the groups, all or nothing."""

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Greatest

from errorlogs import sink
from errorlogs.models import ErrorGroup, ErrorGroupClient, ErrorReport
from errorlogs.services.incidents import incidents_note
from errorlogs.types import Report

logger = logging.getLogger(__name__)


_COLUMNS = [f for f in ErrorReport._meta.concrete_fields if not f.primary_key]
# The order _rows_insert gives the values in.
assert [f.name for f in _COLUMNS] == [
    "report_id", "received_at", "client_timestamp", "stream_id", "error_type", "error_type_sent",
    "error_message", "status_code", "whep_url", "whep_host", "user_agent", "browser_name",
    "browser_version", "os", "screen_resolution", "client_address", "client_key", "fingerprint",
]  # fmt: skip


def _already_kept(keys: list[Any], per_query: int) -> set[Any]:
    """Which of ``keys`` (report ids as the database holds them) are kept already: one plain
    ``SELECT ... IN`` per ``per_query``, not a queryset (its lookup prepared every value
    through the field, about 5 us a report in the writer thread)."""
    quote = connection.ops.quote_name
    table, column = quote(ErrorReport._meta.db_table), quote("report_id")
    kept: set[Any] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(keys), per_query):
            chunk = keys[start : start + per_query]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {column} FROM {table} WHERE {column} IN ({marks})",  # noqa: S608 (the model's names)
                chunk,
            )
            kept.update(row[0] for row in cursor.fetchall())
    return kept


def _rows_insert(reports: Sequence[Report]) -> list[Report]:
    """Insert the reports not kept before; returns those (a reporter sends a report again
    until it hears 202, so a report id already kept is skipped; ``ON CONFLICT DO NOTHING``
    covers another process inserting the same one meanwhile).

    One prepared ``INSERT`` run for every row (``executemany``) rather than ``bulk_create``:
    the ORM's statement compilation cost about ten times the insert itself here (200 rows:
    about 40 ms against 4), in the thread that shares the interpreter with the event loop.
    """
    native_uuid = connection.features.has_native_uuid_field
    unique: dict[Any, Report] = {}  # by the report id as the database holds it
    for report in reports:
        unique.setdefault(report.report_id if native_uuid else report.report_id.hex, report)
    per_query = max(1, (connection.features.max_query_params or 999) - 1)
    already = _already_kept(list(unique), per_query)
    fresh_keys = [key for key in unique if key not in already]
    if not fresh_keys:
        return []
    fresh = [unique[key] for key in fresh_keys]
    ops, quote = connection.ops, connection.ops.quote_name
    adapted: dict[datetime | None, Any] = {None: None}  # a batch shares its few distinct times

    def moment(value: datetime | None) -> Any:
        if value not in adapted:
            adapted[value] = ops.adapt_datetimefield_value(value)
        return adapted[value]

    rows: list[Any] = [
        (
            key,
            moment(r.received_at),
            moment(r.client_timestamp),
            r.stream_id,
            r.error_type,
            r.error_type_sent,
            r.error_message,
            r.status_code,
            r.whep_url,
            r.whep_host,
            r.user_agent,
            r.browser_name,
            r.browser_version,
            r.os,
            r.screen_resolution,
            r.client_address,
            r.client_key,
            r.fingerprint,
        )
        for key, r in zip(fresh_keys, fresh, strict=True)
    ]
    table = quote(ErrorReport._meta.db_table)
    columns = ", ".join(quote(f.column or f.name) for f in _COLUMNS)
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608 (the model's names)
            f"ON CONFLICT ({quote('report_id')}) DO NOTHING",
            rows,
        )
    return fresh


class _Known:
    """Groups and (group, viewer) pairs this process has already written: the next batch
    skips their lookups and inserts. Filled after commit; a stale entry (a group pruned
    meanwhile) only costs the fallback."""

    MAX = 100_000

    def __init__(self) -> None:
        self.groups: dict[str, int] = {}
        self.clients: set[tuple[int, str]] = set()

    def add(self, groups: dict[str, int], clients: set[tuple[int, str]]) -> None:
        if len(self.groups) + len(groups) > self.MAX:
            self.groups.clear()
        if len(self.clients) + len(clients) > self.MAX:
            self.clients.clear()
        self.groups.update(groups)
        self.clients.update(clients)

    def clear(self) -> None:
        self.groups.clear()
        self.clients.clear()


known = _Known()


class _KnownStale(Exception):
    """A group ``known`` remembers is gone (pruned by another process): count again afresh."""


def _known_groups_count(counts: list[tuple[int, int, datetime]]) -> None:
    """Count reports on groups this process has written before: one prepared ``UPDATE`` for
    all of them (``executemany``), not an ORM update each. Each statement the writer thread
    runs hands the interpreter to the event loop and waits to get it back (the GIL), so a
    batch's cost follows its number of statements; the ORM's compilation of each update was
    most of the rest (profiled: 8 updates, about 40 of a batch's 120 ms)."""
    ops, quote = connection.ops, connection.ops.quote_name
    rows = [
        (added, ops.adapt_datetimefield_value(last), ops.adapt_datetimefield_value(last), pk)
        for pk, added, last in counts
    ]
    table, seen = quote(ErrorGroup._meta.db_table), quote("last_seen_at")
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {quote('report_count')} = {quote('report_count')} + %s, "  # noqa: S608 (the model's names)
            f"{seen} = CASE WHEN {seen} < %s THEN %s ELSE {seen} END WHERE {quote('id')} = %s",
            rows,
        )
        if cursor.rowcount != len(rows):
            raise _KnownStale()


def _group_count(fingerprint: str, items: list[Report]) -> int:
    """Count ``items`` on their group (created if new); returns the group's id."""
    last = max(r.received_at for r in items)
    counted = {
        "report_count": F("report_count") + len(items),
        "last_seen_at": Greatest("last_seen_at", Value(last)),
    }
    groups = ErrorGroup.objects.filter(fingerprint=fingerprint)
    if not groups.update(**counted):
        first = items[0]
        try:
            with transaction.atomic():
                return ErrorGroup.objects.create(
                    fingerprint=fingerprint,
                    stream_id=first.stream_id,
                    error_type=first.error_type,
                    status_code=first.status_code,
                    whep_host=first.whep_host,
                    first_seen_at=min(r.received_at for r in items),
                    last_seen_at=last,
                    report_count=len(items),
                ).pk
        except IntegrityError:  # another process created it meanwhile
            groups.update(**counted)
    return groups.values_list("pk", flat=True).get()


def _groups_count(reports: Sequence[Report]) -> None:
    """Each fingerprint's group: counts, first and last seen, distinct viewers."""
    by_fingerprint: dict[str, list[Report]] = defaultdict(list)
    for report in reports:
        by_fingerprint[report.fingerprint].append(report)
    group_ids = {fp: known.groups[fp] for fp in by_fingerprint if fp in known.groups}
    if group_ids:
        _known_groups_count(
            [
                (pk, len(by_fingerprint[fp]), max(r.received_at for r in by_fingerprint[fp]))
                for fp, pk in group_ids.items()
            ]
        )
    for fp, items in by_fingerprint.items():
        if fp not in group_ids:
            group_ids[fp] = _group_count(fp, items)
    new_clients = {(group_ids[r.fingerprint], r.client_key) for r in reports} - known.clients
    if new_clients:
        ErrorGroupClient.objects.bulk_create(
            [ErrorGroupClient(group_id=g, client_key=k) for g, k in new_clients],
            batch_size=500,
            ignore_conflicts=True,
        )
        viewers = (
            ErrorGroupClient.objects.filter(group=OuterRef("pk"))
            .values("group")
            .annotate(n=Count("*"))
            .values("n")
        )
        ErrorGroup.objects.filter(pk__in={g for g, _k in new_clients}).update(
            client_count=Subquery(viewers)
        )
    transaction.on_commit(lambda: known.add(group_ids, new_clients), robust=True)


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
    try:
        return _reports_keep(reports)
    except _KnownStale:
        known.clear()  # the transaction was rolled back whole: once more, without the cache
        return _reports_keep(reports)


def _reports_keep(reports: Sequence[Report]) -> int:
    appended: sink.Appended | None = None
    try:
        with transaction.atomic():
            fresh = _rows_insert(reports)
            if fresh:
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
