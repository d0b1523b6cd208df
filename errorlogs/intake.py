"""What every report request goes through, whichever way it came in.

Two ways in, one set of rules: the web process serves ``POST /api/v1/error-logs/mediamtx``
with ``errorlogs.endpoint`` (an ASGI callable, no Django handler, batched writes), and any
other way (Django's test client, a WSGI server) reaches ``errorlogs.api.ErrorReportCreateApi``
(writes inline). Both check the request here before its body is read (the origin, the
throttle, the media type), parse it here, and answer with the bodies and headers below.
"""

import itertools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from corsheaders.conf import conf as cors
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from broadcastops.errors import ApplicationError
from broadcastops.rest import error_body
from errorlogs.errors import OriginNotAllowed, Throttled
from errorlogs.throttle import throttle
from errorlogs.types import Client, Report
from errorlogs.validation import media_type_check, reports_parse

EXPOSED_HEADERS = "Retry-After, X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class Incoming:
    """The headers of a report request that the rules look at."""

    method: str
    address: str
    origin: str  # the Origin header, "" when absent (not a browser page)
    own_origin: str  # this console's origin as the request names it (scheme://Host)
    content_type: str
    accept_language: str = ""
    request_id: str = ""


@lru_cache(maxsize=1024)
def _origin(value: str) -> tuple[str, str] | None:
    # Cached: each report request splits its Origin and every allowed origin, twice.
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.scheme.lower(), parts.netloc.lower()


@lru_cache(maxsize=1024)
def origin_listed(origin: str) -> bool:
    """``CORS_ALLOWED_ORIGINS`` (or the regexes, or all) allows ``origin``, as corsheaders.

    Cached (cleared when a ``CORS_`` setting changes): corsheaders reads and checks its
    settings on every look, twice a report request, about 20 us each time."""
    if cors.CORS_ALLOW_ALL_ORIGINS:
        return True
    if origin == "null":
        return "null" in cors.CORS_ALLOWED_ORIGINS
    found = _origin(origin)
    if found is None:
        return False
    if any(_origin(allowed) == found for allowed in cors.CORS_ALLOWED_ORIGINS):
        return True
    return any(re.match(pattern, origin) for pattern in cors.CORS_ALLOWED_ORIGIN_REGEXES)


@receiver(setting_changed)
def _cors_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CORS_"):
        origin_listed.cache_clear()


def origin_allowed(incoming: Incoming) -> bool:
    """A request with no Origin (not from a page), from the console's own pages, or from an
    origin of ``CORS_ALLOWED_ORIGINS``. Anything else could be any web page making its
    visitors' browsers post invented reports."""
    if not incoming.origin:
        return True
    own = _origin(incoming.own_origin)
    return (own is not None and _origin(incoming.origin) == own) or origin_listed(incoming.origin)


def cors_headers(incoming: Incoming) -> list[tuple[str, str]]:
    """The CORS headers of an answer to ``incoming`` (none for a foreign origin)."""
    if not incoming.origin or not origin_listed(incoming.origin):
        return [("Vary", "Origin")]
    return [
        ("Access-Control-Allow-Origin", incoming.origin),
        ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        ("Vary", "Origin"),
    ]


def preflight_headers(incoming: Incoming) -> list[tuple[str, str]]:
    headers = cors_headers(incoming)
    if len(headers) > 1:
        headers += [
            ("Access-Control-Allow-Methods", "POST, OPTIONS"),
            ("Access-Control-Allow-Headers", "content-type"),
            ("Access-Control-Max-Age", str(cors.CORS_PREFLIGHT_MAX_AGE)),
        ]
    return headers


def intake_check(incoming: Incoming) -> None:
    """Before the body is read: the origin, the address's throttle, the media type."""
    if not origin_allowed(incoming):
        raise OriginNotAllowed(
            _("Reports from pages of %(origin)s are not accepted (CORS_ALLOWED_ORIGINS).")
            % {"origin": incoming.origin[:200]}
        )
    retry_after = throttle.retry_after_s(incoming.address)
    if retry_after is not None:
        raise Throttled(
            _("Too many reports from this address; send them again in %(seconds)d s.")
            % {"seconds": retry_after},
            retry_after_s=retry_after,
        )
    media_type_check(incoming.content_type)


def intake_parse(incoming: Incoming, body: bytes, *, received_at: datetime) -> list[Report]:
    return reports_parse(
        body,
        content_type=incoming.content_type,
        client=Client(address=incoming.address, origin=incoming.origin),
        received_at=received_at,
    )


def accepted_body(reports: list[Report]) -> dict[str, Any]:
    return {"accepted": len(reports)}


def error_answer(exc: ApplicationError) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """(status, body, extra headers) of a refusal."""
    headers = []
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    return exc.status_code, error_body(exc.code, exc.message, exc.detail), headers


@lru_cache(maxsize=512)
def language_of(accept_language: str) -> str:
    """The console language an ``Accept-Language`` header asks for (as LocaleMiddleware)."""
    for code, _quality in parse_accept_lang_header(accept_language[:255]):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


# A request's own id when it brings none: this process's random prefix and a counter. Not
# uuid4(): os.urandom releases the interpreter lock, and taking it back from the writer
# thread cost about 0.36 ms a request in the burst (profiled), a third of a request's time.
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count(1)


def request_id(incoming_id: str) -> str:
    if incoming_id and _VALID_ID.match(incoming_id):
        return incoming_id
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"
