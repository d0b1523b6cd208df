"""Outages: when several viewers fail on one MediaMTX server (or stream) at once.

An incident opens once per scope (the unique open incident per ``scope_key`` settles races
between batches and processes), alerts once (a conditional update claims the alert), and
resolves once after ``ERRORLOGS_INCIDENT_QUIET_S`` without a report, with a notice.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q, QuerySet, Value
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone

from broadcastops.i18n import Message, Text, choice_message
from broadcastops.notify.services import notify
from broadcastops.on_air import on_air_lookup
from errorlogs import messages as msg
from errorlogs.mediamtx import server_for_host
from errorlogs.models import ErrorReport, ErrorType, Incident, ProbeResult
from errorlogs.types import Report

logger = logging.getLogger(__name__)

MAX_STREAMS = 50  # streams named on one incident


def _scope_filter(scope_key: str) -> Q:
    kind, _sep, value = scope_key.partition(":")
    if kind == "host":
        return Q(whep_host=value)
    return Q(whep_host="", stream_id=value)


def _player_reports(scope_key: str, *, since: datetime) -> QuerySet[ErrorReport]:
    return (
        ErrorReport.objects.filter(_scope_filter(scope_key), received_at__gte=since)
        .exclude(error_type=ErrorType.PROBE_FAILED)
        .order_by()
    )


def _viewers(scope_key: str, *, since: datetime, until: datetime | None = None) -> int:
    reports = _player_reports(scope_key, since=since)
    if until is not None:
        reports = reports.filter(received_at__lte=until)
    return reports.values("client_key").distinct().count()


def _streams(scope_key: str, *, since: datetime) -> list[str]:
    streams = (
        ErrorReport.objects.filter(_scope_filter(scope_key), received_at__gte=since)
        .order_by()
        .values_list("stream_id", flat=True)
        .distinct()
    )
    return sorted(streams[:MAX_STREAMS])


def _enqueue_verify(incident_id: int) -> None:
    from errorlogs.tasks import incident_verify_task

    try:
        incident_verify_task.delay(incident_id)
    except Exception:  # a broker outage must not fail the reports that revealed it
        logger.exception("Could not enqueue the check of incident %s", incident_id)


def _open(
    *,
    scope_key: str,
    whep_host: str,
    trigger: str,
    now: datetime,
    since: datetime,
    verdict: str = Incident.Verdict.PENDING,
    probe_detail: dict[str, Any] | None = None,
) -> Incident | None:
    """Open the scope's incident (None if another batch or process just did)."""
    reports = ErrorReport.objects.filter(_scope_filter(scope_key), received_at__gte=since)
    first = reports.aggregate(first=Min("received_at"))["first"] or now
    server = server_for_host(whep_host)
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                scope_key=scope_key,
                whep_host=whep_host,
                server_name=server.name if server else "",
                stream_ids=_streams(scope_key, since=since),
                trigger=trigger,
                opened_at=now,
                first_report_at=first,
                last_report_at=now,
                report_count=reports.count(),
                viewer_count=_viewers(scope_key, since=since),
                verdict=verdict,
                probe_detail=probe_detail or {},
            )
    except IntegrityError:
        return None
    logger.warning(
        "Incident %s opened for %s (%s, %s viewers)",
        incident.pk,
        scope_key,
        trigger,
        incident.viewer_count,
    )
    transaction.on_commit(lambda: _enqueue_verify(incident.pk), robust=True)
    return incident


def incidents_note(*, reports: Sequence[Report]) -> list[Incident]:
    """Inside the transaction that keeps ``reports``: count them on their scope's open
    incident, or open one when ``ERRORLOGS_INCIDENT_VIEWERS`` distinct viewers have failed in
    the scope within ``ERRORLOGS_INCIDENT_WINDOW_S``. Returns the incidents opened."""
    by_scope: dict[str, list[Report]] = defaultdict(list)
    for report in reports:
        by_scope[report.scope_key].append(report)
    now = timezone.now()
    since = now - timedelta(seconds=settings.ERRORLOGS_INCIDENT_WINDOW_S)
    opened = []
    for scope_key, items in by_scope.items():
        last = max(r.received_at for r in items)
        if Incident.objects.filter(scope_key=scope_key, state=Incident.State.OPEN).update(
            last_report_at=Greatest("last_report_at", Value(last)),
            report_count=F("report_count") + len(items),
        ):
            continue
        if all(r.error_type == ErrorType.PROBE_FAILED for r in items):
            continue  # the probe opens its own (incident_open_from_probe)
        if _viewers(scope_key, since=since) < settings.ERRORLOGS_INCIDENT_VIEWERS:
            continue
        incident = _open(
            scope_key=scope_key,
            whep_host=items[0].whep_host,
            trigger=Incident.Trigger.VIEWERS,
            now=last,
            since=since,
        )
        if incident is not None:
            opened.append(incident)
    return opened


def incident_open_from_probe(*, outcome: Any, at: datetime) -> Incident | None:
    """After a failing probe (``probing.ProbeOutcome``): open the server's incident once
    ``ERRORLOGS_PROBE_FAILURES_TO_OPEN`` probes in a row have failed, with the probe's verdict."""
    server = outcome.server
    scope_key = f"host:{server.whep_host}"
    needed = max(settings.ERRORLOGS_PROBE_FAILURES_TO_OPEN, 1)
    recent = list(
        ProbeResult.objects.filter(server_name=server.name)
        .order_by("-probed_at")
        .values_list("verdict", flat=True)[:needed]
    )
    if len(recent) < needed or ProbeResult.Verdict.OK in recent:
        return None
    if Incident.objects.filter(scope_key=scope_key, state=Incident.State.OPEN).exists():
        return None
    verdict = (
        Incident.Verdict.SERVER_DOWN
        if outcome.verdict == ProbeResult.Verdict.SERVER_DOWN
        else Incident.Verdict.PATH_NOT_PUBLISHED
    )
    with transaction.atomic():
        return _open(
            scope_key=scope_key,
            whep_host=server.whep_host,
            trigger=Incident.Trigger.PROBE,
            now=at,
            since=at - timedelta(seconds=settings.ERRORLOGS_INCIDENT_WINDOW_S),
            verdict=verdict,
            probe_detail={**outcome.detail(), "probedAt": at.isoformat()},
        )


def _incident_paths(incident: Incident) -> list[str]:
    """The MediaMTX paths the incident's reports asked for (``.../<path>/whep``)."""
    urls = (
        ErrorReport.objects.filter(
            _scope_filter(incident.scope_key), received_at__gte=incident.first_report_at
        )
        .order_by()
        .values_list("whep_url", flat=True)
        .distinct()[:MAX_STREAMS]
    )
    paths = set()
    for url in urls:
        path = urlsplit(url).path.strip("/").removesuffix("/whep").removesuffix("whep")
        if path:
            paths.add(path)
    return sorted(paths)


def _probe_verdict(incident: Incident) -> tuple[str, dict[str, Any]]:
    """What the server-side probe sees now, for the incident's server and paths."""
    from errorlogs.services.probing import server_check

    server = server_for_host(incident.whep_host)
    if server is None:
        return Incident.Verdict.NOT_PROBED, {}
    paths = tuple(_incident_paths(incident))
    outcome = server_check(server=server, extra_paths=paths)
    detail = {**outcome.detail(), "probedAt": timezone.now().isoformat()}
    if outcome.verdict == ProbeResult.Verdict.SERVER_DOWN:
        return Incident.Verdict.SERVER_DOWN, detail
    offline = [p for p in paths if outcome.path_online(p) is False]
    detail["unpublished"] = sorted({*outcome.unpublished, *offline})
    if offline or (not paths and outcome.unpublished):
        return Incident.Verdict.PATH_NOT_PUBLISHED, detail
    return Incident.Verdict.VIEWERS_ONLY, detail


def _on_air(incident: Incident, streams: list[str]) -> list[dict[str, Any]]:
    shows = []
    for stream_id in streams[:10]:
        show = on_air_lookup(
            stream_id=stream_id, host=incident.whep_host, at=incident.first_report_at
        )
        if show is not None:
            shows.append(
                {
                    "streamId": stream_id,
                    "title": show.title,
                    "scheduleId": show.schedule_id,
                    "startsAt": show.starts_at.isoformat() if show.starts_at else None,
                    "endsAt": show.ends_at.isoformat() if show.ends_at else None,
                    "channel": show.channel,
                    "url": show.url,
                }
            )
    return shows


def incident_scope_label(incident: Incident) -> Message:
    """Where the incident is: the MediaMTX server (its name and host), or the stream."""
    if incident.whep_host:
        name = f"{incident.server_name} ({incident.whep_host})" if incident.server_name else ""
        return Text(name or incident.whep_host)
    return msg.SCOPE_STREAM(stream=incident.scope_key.partition(":")[2])


def incident_alert_opened(incident: Incident) -> dict[str, Any]:
    """The opening alert's title, text and facts, as messages (``notify``'s arguments)."""
    scope = incident_scope_label(incident)
    verdict = choice_message(msg.VERDICT, incident.verdict)
    on_air = [f"{s['title']} ({s['streamId']})" for s in incident.on_air]
    shows = msg.SHOWS(shows=on_air) if on_air else msg.NONE_KNOWN()
    if incident.trigger == Incident.Trigger.PROBE:
        title = msg.OPENED_BY_PROBE(scope=scope, verdict=verdict)
    else:
        title = msg.OPENED_BY_VIEWERS(viewers=incident.viewer_count, scope=scope)
    first = timezone.localtime(incident.first_report_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    return {
        "title": title,
        "text": msg.OPENED_TEXT(verdict=verdict, shows=shows),
        "facts": {
            msg.FACT_STREAMS(): ", ".join(incident.stream_ids) or "-",
            msg.FACT_VIEWERS(): str(incident.viewer_count),
            msg.FACT_REPORTS(): str(incident.report_count),
            msg.FACT_VERDICT(): verdict,
            msg.FACT_ON_AIR(): shows,
            msg.FACT_FIRST_FAILURE(): first,
        },
    }


def _open_alert(incident: Incident) -> None:
    notify(
        event="errorlogs.incident_opened",
        subject=incident.scope_key,
        severity="critical",
        **incident_alert_opened(incident),
        actions=[reverse("admin:errorlogs_incident_change", args=[incident.pk])],
        dedup_key=f"errorlogs.incident:{incident.pk}",
    )


def incident_verify(*, incident_id: int) -> Incident:
    """What an open incident is (the Celery task after it opened): the probe's verdict now,
    the shows on air on its streams, the viewers affected; then its one alert."""
    incident = Incident.objects.get(pk=incident_id)
    if incident.alerted_at is not None:
        return incident
    if incident.verdict == Incident.Verdict.PENDING:
        verdict, detail = _probe_verdict(incident)  # outside calls: before any transaction
    else:
        verdict, detail = incident.verdict, incident.probe_detail
    streams = _streams(incident.scope_key, since=incident.first_report_at)
    on_air = _on_air(incident, streams)
    now = timezone.now()
    viewers = _viewers(incident.scope_key, since=incident.first_report_at)
    with transaction.atomic():
        claimed = Incident.objects.filter(pk=incident.pk, alerted_at__isnull=True).update(
            verdict=verdict,
            probe_detail=detail,
            stream_ids=streams,
            on_air=on_air,
            viewer_count=viewers,
            alerted_at=now,
        )
        incident.refresh_from_db()
        if claimed:
            _open_alert(incident)
    return incident


def incidents_resolve(*, now: datetime | None = None) -> list[Incident]:
    """Resolve the open incidents quiet for ``ERRORLOGS_INCIDENT_QUIET_S``, each with a notice."""
    now = now or timezone.now()
    quiet = now - timedelta(seconds=settings.ERRORLOGS_INCIDENT_QUIET_S)
    resolved = []
    candidates = Incident.objects.filter(state=Incident.State.OPEN, last_report_at__lt=quiet)
    for incident in candidates:
        viewers = _viewers(
            incident.scope_key, since=incident.first_report_at, until=incident.last_report_at
        )
        with transaction.atomic():
            # Unchanged since read: a report that came meanwhile keeps it open.
            claimed = Incident.objects.filter(
                pk=incident.pk, state=Incident.State.OPEN, last_report_at=incident.last_report_at
            ).update(
                state=Incident.State.RESOLVED,
                resolved_at=now,
                viewer_count=Greatest("viewer_count", Value(viewers)),
                resolution_alerted_at=now,
            )
            if not claimed:
                continue
            incident.refresh_from_db()
            _resolved_notice(incident)
        resolved.append(incident)
    return resolved


def incident_alert_resolved(incident: Incident) -> dict[str, Any]:
    """The resolution notice's title, text and facts, as messages."""
    minutes = max(
        1, round((incident.last_report_at - incident.first_report_at).total_seconds() / 60)
    )
    return {
        "title": msg.RESOLVED(scope=incident_scope_label(incident)),
        "text": msg.RESOLVED_TEXT(
            quiet=settings.ERRORLOGS_INCIDENT_QUIET_S,
            minutes=minutes,
            viewers=incident.viewer_count,
            reports=incident.report_count,
        ),
        "facts": {msg.FACT_STREAMS(): ", ".join(incident.stream_ids) or "-"},
    }


def _resolved_notice(incident: Incident) -> None:
    notify(
        event="errorlogs.incident_resolved",
        subject=incident.scope_key,
        severity="info",
        **incident_alert_resolved(incident),
        actions=[reverse("admin:errorlogs_incident_change", args=[incident.pk])],
        dedup_key=f"errorlogs.incident_resolved:{incident.pk}",
    )
