"""The server-side probe: each configured MediaMTX server, through its API and WHEP."""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from errorlogs.mediamtx import (
    MediaMTXClient,
    MediaMTXError,
    MediaMTXServer,
    PathState,
    SessionsSummary,
    configured_servers,
)
from errorlogs.models import ErrorType, ProbeResult
from errorlogs.types import Report
from errorlogs.validation import client_key, fingerprint

logger = logging.getLogger(__name__)

Verdict = ProbeResult.Verdict
# WHEP answers that mean the server is there (a path not published, an offer refused).
_ANSWERED = "answered"


@dataclass(frozen=True)
class ProbeOutcome:
    """What a probe of one server found (no database involved)."""

    server: MediaMTXServer
    verdict: str
    error: str = ""
    paths: dict[str, PathState] = field(default_factory=dict)
    sessions: SessionsSummary | None = None
    whep: dict[str, str] = field(default_factory=dict)  # path -> status code or "unreachable"
    unpublished: tuple[str, ...] = ()
    duration_ms: int = 0

    def path_online(self, path: str) -> bool | None:
        """Whether ``path`` is published, by the API, else by WHEP; None if unknown."""
        state = self.paths.get(path)
        if state is not None:
            return state.online
        if self.error and path not in self.whep:
            return None
        if path in self.whep:
            return self.whep[path] == "201"
        return False  # the API answered and does not know the path

    def detail(self) -> dict[str, object]:
        return {
            "server": self.server.name,
            "verdict": self.verdict,
            "error": self.error,
            "unpublished": list(self.unpublished),
            "whep": self.whep,
            "paths": {
                name: {
                    "online": p.online,
                    "readers": p.readers,
                    "inboundBytes": p.inbound_bytes,
                    "tracks": list(p.tracks),
                }
                for name, p in list(self.paths.items())[:50]
            },
            "sessions": None
            if self.sessions is None
            else {
                "total": self.sessions.total,
                "established": self.sessions.established,
                "packetsLost": self.sessions.packets_lost,
                "byPath": dict(list(self.sessions.by_path.items())[:50]),
            },
            "durationMs": self.duration_ms,
        }


def server_check(*, server: MediaMTXServer, extra_paths: tuple[str, ...] = ()) -> ProbeOutcome:
    """Probe ``server``: its paths and WebRTC sessions through the API, and a WHEP offer for
    each path players watch on it. ``extra_paths`` are judged from the API only."""
    started = time.monotonic()
    client = MediaMTXClient(server)
    error = ""
    paths: dict[str, PathState] = {}
    sessions = None
    try:
        paths = {p.name: p for p in client.paths()}
        sessions = client.sessions()
    except MediaMTXError as exc:
        error = _("Control API: %(error)s") % {"error": exc}
    whep: dict[str, str] = {}
    for path in server.paths:
        try:
            whep[path] = str(client.whep_status(path))
        except MediaMTXError as exc:
            whep[path] = "unreachable" if exc.status is None else str(exc.status)
            if exc.status is None:  # the rest cannot be reached either: do not wait for each
                whep.update({p: "unreachable" for p in server.paths if p not in whep})
                break
    reachable = [s for s in whep.values() if s != "unreachable" and not s.startswith("5")]
    if (whep and not reachable) or (not whep and error):
        verdict = Verdict.SERVER_DOWN
        unpublished: tuple[str, ...] = ()
    else:
        watched = dict.fromkeys((*server.paths, *extra_paths))
        unpublished = tuple(
            p
            for p in watched
            if (p in paths and not paths[p].online)
            or (p not in paths and not error and p in watched)
            or whep.get(p) == "404"
        )
        verdict = Verdict.PATH_NOT_PUBLISHED if unpublished else Verdict.OK
    return ProbeOutcome(
        server=server,
        verdict=verdict,
        error=error,
        paths=paths,
        sessions=sessions,
        whep=whep,
        unpublished=unpublished,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def _probe_reports(outcome: ProbeOutcome, *, at: datetime) -> list[Report]:
    """``probe_failed`` reports of a failing probe: one per path it could not play."""
    server = outcome.server
    if outcome.verdict == Verdict.SERVER_DOWN:
        failing = list(server.paths) or [""]
        message = _("MediaMTX server %(server)s is down: %(error)s") % {
            "server": server.name,
            "error": outcome.error or _("WHEP unreachable"),
        }
    else:
        failing = list(outcome.unpublished)
        message = _("Not published on MediaMTX server %(server)s") % {"server": server.name}
    key = client_key(client_id=f"probe:{server.name}", address="", user_agent="", screen="")
    reports = []
    for path in failing:
        status = outcome.whep.get(path, "")
        code = int(status) if status.isdigit() else None
        url = server.whep_endpoint(path) if path else server.whep_url
        reports.append(
            Report(
                report_id=uuid.uuid4(),
                received_at=at,
                timestamp_sent=at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                client_timestamp=at,
                stream_id=path or "-",
                error_type=ErrorType.PROBE_FAILED,
                error_type_sent="",
                error_message=message[:2000],
                status_code=code,
                whep_url=url,
                whep_host=server.whep_host,
                user_agent="",
                browser_name="",
                browser_version="",
                os="",
                screen_resolution="",
                client_address="",
                client_key=key,
                fingerprint=fingerprint(
                    stream_id=path or "-",
                    error_type=ErrorType.PROBE_FAILED,
                    status_code=code,
                    whep_host=server.whep_host,
                ),
            )
        )
    return reports


def server_probe(*, server: MediaMTXServer) -> ProbeResult:
    """Probe one configured server and keep what it found: a ``ProbeResult``, and when it
    fails, ``probe_failed`` reports (so an outage shows with no player open) and an incident
    once ``ERRORLOGS_PROBE_FAILURES_TO_OPEN`` probes in a row have failed."""
    from errorlogs.services.incidents import incident_open_from_probe
    from errorlogs.services.reports import reports_store

    outcome = server_check(server=server)
    now = timezone.now()
    result = ProbeResult.objects.create(
        server_name=server.name,
        probed_at=now,
        verdict=outcome.verdict,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
        paths=outcome.detail()["paths"],
        sessions=outcome.detail()["sessions"] or {},
        whep=[{"path": p, "status": s} for p, s in outcome.whep.items()],
    )
    logger.info(
        "Probe of MediaMTX %s: %s in %s ms %s",
        server.name,
        outcome.verdict,
        outcome.duration_ms,
        outcome.error,
    )
    if outcome.verdict != Verdict.OK:
        reports_store(reports=_probe_reports(outcome, at=now))
        incident_open_from_probe(outcome=outcome, at=now)
    return result


def probes_run() -> list[ProbeResult]:
    """Probe every configured MediaMTX server (the beat task)."""
    return [server_probe(server=server) for server in configured_servers()]
