"""The configured MediaMTX servers and the calls the probe makes to them.

Only servers named in ``ERRORLOGS_MEDIAMTX_SERVERS`` are ever called: a report names a WHEP
URL, but the probe takes the scheme, host and port from the settings, never from a request.
Every call has a timeout (``ERRORLOGS_PROBE_TIMEOUT_S``) and at most
``ERRORLOGS_PROBE_RETRIES`` retries with jittered backoff, for transient failures only
(unreachable, timeout, 5xx); every failure is one ``MediaMTXError``.

Shapes from MediaMTX's ``api/openapi.yaml`` (control API v3): ``/v3/paths/list`` and
``/v3/webrtcsessions/list`` are paged (``page``, ``itemsPerPage`` -> ``itemCount``,
``pageCount``, ``items``); a path has ``online``/``available``, ``readers``, ``inboundBytes``
and ``tracks2``, which older servers call ``ready``, ``bytesReceived`` and ``tracks``
(deprecated in MediaMTX PR 5391): both are read. WHEP: ``POST <whep>/<path>/whep`` with an
SDP offer answers 201 and a session ``Location`` (deleted again at once), 404 when nobody
publishes the path.
"""

import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin

import requests
from django.conf import settings

from errorlogs.validation import whep_parts

logger = logging.getLogger(__name__)

MAX_PAGES = 50
ITEMS_PER_PAGE = 100


class MediaMTXError(Exception):
    """A call to a MediaMTX server failed; ``transient``: unreachable, timed out or 5xx."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


@dataclass(frozen=True)
class MediaMTXServer:
    """A MediaMTX server from the settings: its control API, its WHEP base, the paths that
    players watch on it (checked through WHEP on every probe)."""

    name: str
    api_url: str
    whep_url: str
    paths: tuple[str, ...] = ()

    @property
    def whep_host(self) -> str:
        return whep_parts(self.whep_url)[1]

    def whep_endpoint(self, path: str) -> str:
        return urljoin(self.whep_url.rstrip("/") + "/", f"{quote(path, safe='/')}/whep")


def configured_servers() -> list[MediaMTXServer]:
    servers = []
    for entry in settings.ERRORLOGS_MEDIAMTX_SERVERS:
        servers.append(
            MediaMTXServer(
                name=str(entry["name"]),
                api_url=str(entry.get("api_url", "")),
                whep_url=str(entry.get("whep_url", "")),
                paths=tuple(str(p) for p in entry.get("paths", ())),
            )
        )
    return servers


def server_for_host(host: str) -> MediaMTXServer | None:
    """The configured server whose WHEP ``host[:port]`` a report names, if any."""
    if not host:
        return None
    return next((s for s in configured_servers() if s.whep_host == host), None)


@dataclass(frozen=True)
class PathState:
    name: str
    online: bool
    readers: int
    inbound_bytes: int
    tracks: tuple[str, ...]


@dataclass(frozen=True)
class SessionsSummary:
    total: int = 0
    established: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    packets_lost: int = 0


def path_state(item: dict[str, Any]) -> PathState:
    """One item of ``/v3/paths/list``, from a current server or an older one."""
    online = item.get("online", item.get("ready", False))
    inbound = item.get("inboundBytes", item.get("bytesReceived", 0))
    tracks2 = item.get("tracks2")
    if isinstance(tracks2, list):
        tracks = tuple(str(t.get("codec", "")) for t in tracks2 if isinstance(t, dict))
    else:
        tracks = tuple(str(t) for t in item.get("tracks") or ())
    readers = item.get("readers") or []
    return PathState(
        name=str(item.get("name", "")),
        online=bool(online),
        readers=len(readers) if isinstance(readers, list) else 0,
        inbound_bytes=int(inbound or 0),
        tracks=tracks,
    )


def _offer() -> str:
    """An SDP offer to receive one video track: enough for MediaMTX to open a session."""
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    return "\r\n".join(
        [
            "v=0",
            "o=- 0 0 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "c=IN IP4 0.0.0.0",
            f"a=ice-ufrag:{secrets.token_hex(4)}",
            f"a=ice-pwd:{secrets.token_hex(12)}",
            f"a=fingerprint:sha-256 {fingerprint}",
            "a=setup:actpass",
            "a=mid:0",
            "a=recvonly",
            "a=rtcp-mux",
            "a=rtpmap:96 H264/90000",
            "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
            "",
        ]
    )


class MediaMTXClient:
    """The control API and WHEP of one configured server."""

    def __init__(self, server: MediaMTXServer) -> None:
        self.server = server
        self.timeout_s = settings.ERRORLOGS_PROBE_TIMEOUT_S
        self.retries = settings.ERRORLOGS_PROBE_RETRIES
        user = settings.ERRORLOGS_MEDIAMTX_API_USER
        self.auth = (user, settings.ERRORLOGS_MEDIAMTX_API_PASSWORD) if user else None

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        for attempt in range(self.retries + 1):
            try:
                response = requests.request(
                    method,
                    url,
                    timeout=self.timeout_s,
                    auth=self.auth,
                    allow_redirects=False,
                    **kwargs,
                )
            except requests.RequestException as exc:
                error = MediaMTXError(f"{type(exc).__name__}: unreachable", transient=True)
            else:
                if response.status_code < 500:
                    return response
                error = MediaMTXError(
                    f"answered {response.status_code}", transient=True, status=response.status_code
                )
            if attempt < self.retries:
                time.sleep(random.uniform(0.5, 1.0) * 0.2 * 2**attempt)
        logger.info("MediaMTX %s %s %s failed: %s", self.server.name, method, url, error)
        raise error

    def _list(self, endpoint: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        base = self.server.api_url.rstrip("/")
        for page in range(MAX_PAGES):
            response = self._call(
                "GET", f"{base}{endpoint}", params={"page": page, "itemsPerPage": ITEMS_PER_PAGE}
            )
            if response.status_code != 200:
                raise MediaMTXError(
                    f"{endpoint} answered {response.status_code}",
                    transient=False,
                    status=response.status_code,
                )
            try:
                body = response.json()
                items.extend(i for i in body.get("items") or [] if isinstance(i, dict))
                page_count = int(body.get("pageCount") or 1)
            except (ValueError, TypeError, AttributeError) as exc:
                raise MediaMTXError(
                    f"{endpoint} answered no list: {exc}", transient=False
                ) from None
            if page + 1 >= page_count:
                break
        return items

    def paths(self) -> list[PathState]:
        return [path_state(item) for item in self._list("/v3/paths/list")]

    def sessions(self) -> SessionsSummary:
        items = self._list("/v3/webrtcsessions/list")
        by_path: dict[str, int] = {}
        for item in items:
            name = str(item.get("path", ""))
            by_path[name] = by_path.get(name, 0) + 1
        return SessionsSummary(
            total=len(items),
            established=sum(1 for i in items if i.get("peerConnectionEstablished")),
            by_path=by_path,
            packets_lost=sum(int(i.get("inboundRTPPacketsLost") or 0) for i in items),
        )

    def whep_status(self, path: str) -> int:
        """The status of a WHEP offer for ``path`` (201: it plays); the session it opened is
        deleted again."""
        endpoint = self.server.whep_endpoint(path)
        response = self._call(
            "POST", endpoint, data=_offer(), headers={"Content-Type": "application/sdp"}
        )
        location = response.headers.get("Location", "")
        if response.status_code == 201 and location:
            try:
                requests.delete(urljoin(endpoint, location), timeout=self.timeout_s, auth=self.auth)
            except requests.RequestException:
                logger.info("MediaMTX %s: could not delete the probe's session", self.server.name)
        return response.status_code
