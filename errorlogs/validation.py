"""A request body of player reports -> validated ``Report`` values, or one clear refusal.

Hand-written rather than a DRF serializer: a burst of an outage brings thousands of reports
a second to one web process, and a serializer costs about ten times as much per report
(README, "Player error reports"). The rules are the ones the API documents
(``errorlogs.api.ReportInputSerializer``, which the schema shows): a request is kept whole or
not at all; every field has a length limit; text that a database or a file cannot hold (a NUL
character, an unpaired surrogate) is refused, not stored half.
"""

import hashlib
import ipaddress
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from errorlogs import models as m
from errorlogs.errors import ReportInvalid, UnsupportedMediaType
from errorlogs.types import Client, Report

MEDIA_TYPES = ("application/json", "text/plain")  # text/plain: what sendBeacon posts unasked
_MISSING = object()
# A NUL (PostgreSQL's text refuses it) or a lone surrogate (UTF-8 cannot encode it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_KNOWN_TYPES = frozenset(m.PLAYER_ERROR_TYPES)
MASK = "****"


class _Fields:
    """The errors of one report, by field (the shape of DRF's validation errors)."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def text(self, item: dict[str, Any], key: str, limit: int, *, required: bool) -> str:
        value = item.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.errors[key] = [_("This field is required.")]
            return ""
        if not isinstance(value, str):
            self.errors[key] = [_("Must be a string.")]
            return ""
        if len(value) > limit:
            self.errors[key] = [
                _("At most %(limit)d characters (this one has %(length)d).")
                % {"limit": limit, "length": len(value)}
            ]
            return ""
        if _UNSTORABLE.search(value):
            self.errors[key] = [_("Contains a NUL character or an unpaired surrogate.")]
            return ""
        return value


def media_type_check(content_type: str) -> None:
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            _(
                "Send the report as JSON (Content-Type application/json or text/plain), "
                "not %(type)s."
            )
            % {"type": media or _("no Content-Type")}
        )


def body_items(body: bytes) -> tuple[list[Any], bool]:
    """The JSON items of a body and whether it was an array."""
    if not body.strip():
        raise ReportInvalid(_("The request has no body: send a report or an array of reports."))
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReportInvalid(
            _("The body is not UTF-8 text (an invalid byte at position %(position)d).")
            % {"position": exc.start},
            detail={"position": exc.start},
        ) from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise ReportInvalid(_("The JSON is nested too deeply to be a report.")) from None
    except json.JSONDecodeError as exc:
        raise ReportInvalid(
            _("The body is not valid JSON (line %(line)d, column %(column)d).")
            % {"line": exc.lineno, "column": exc.colno},
            detail={"line": exc.lineno, "column": exc.colno, "reason": exc.msg},
        ) from None
    is_array = isinstance(data, list)
    items = data if is_array else [data]
    if not items:
        raise ReportInvalid(_("The array is empty: send at least one report."))
    limit = settings.ERRORLOGS_MAX_REPORTS_PER_REQUEST
    if len(items) > limit:
        raise ReportInvalid(
            _("At most %(limit)d reports per request (this one has %(count)d).")
            % {"limit": limit, "count": len(items)},
            detail={"limit": limit},
        )
    return items, is_array


def _timestamp(value: str, fields: _Fields) -> datetime | None:
    if "timestamp" in fields.errors:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        fields.errors["timestamp"] = [
            _("Not a date and time in ISO 8601 (e.g. 2026-01-08T12:34:56.789Z).")
        ]
        return None


def _status_code(item: dict[str, Any], fields: _Fields) -> int | None:
    value = item.get("statusCode")
    if value is None:
        return None
    # bool is an int in Python; JSON's true is not a status code.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999:
        fields.errors["statusCode"] = [_("Must be an HTTP status code (0-999) or null.")]
        return None
    return value


def _report_id(item: dict[str, Any], fields: _Fields) -> uuid.UUID:
    value = item.get("reportId")
    if value is None:
        return uuid.uuid4()
    if isinstance(value, str) and len(value) <= 36:
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    fields.errors["reportId"] = [_("Must be a UUID (the reporter's id of this report).")]
    return uuid.uuid4()


@lru_cache(maxsize=4096)
def whep_parts(url: str) -> tuple[str, str]:
    """(the URL to keep, its ``host[:port]``): credentials and query values masked."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url, ""
    if not host:
        return url, ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    query = urlencode([(key, MASK) for key, _value in parse_qsl(parts.query, True)], safe="*")
    kept = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    return kept[: m.WHEP_URL_MAX], netloc[: m.WHEP_HOST_MAX]


def kept_address(address: str) -> str:
    """The client address as ``ERRORLOGS_CLIENT_DETAILS`` and the prefix settings keep it."""
    if "address" not in settings.ERRORLOGS_CLIENT_DETAILS or not address:
        return ""
    return _kept_address(
        address, settings.ERRORLOGS_ADDRESS_PREFIX_V4, settings.ERRORLOGS_ADDRESS_PREFIX_V6
    )


@lru_cache(maxsize=8192)
def _kept_address(address: str, prefix_v4: int, prefix_v6: int) -> str:
    # Cached: parsing the address and its network took about 6 us a request (twice the
    # parse), and a player sends from one address until it moves.
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = prefix_v4 if ip.version == 4 else prefix_v6
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def client_key(*, client_id: str, address: str, user_agent: str, screen: str) -> str:
    """A keyed hash of the viewer: its reporter's ``clientId``, else what the request shows."""
    return _viewer_key(client_id, address, user_agent, screen, settings.SECRET_KEY)


def _viewer_key(client_id: str, address: str, user_agent: str, screen: str, secret: str) -> str:
    identity = f"id:{client_id}" if client_id else f"{address}|{user_agent}|{screen}"
    return _client_key(identity, secret)


@lru_cache(maxsize=8192)
def _client_key(identity: str, secret: str) -> str:
    return salted_hmac("errorlogs.client", identity, secret=secret, algorithm="sha256").hexdigest()[
        :32
    ]


def fingerprint(*, stream_id: str, error_type: str, status_code: int | None, whep_host: str) -> str:
    return _fingerprint(stream_id, error_type, status_code, whep_host)


@lru_cache(maxsize=4096)
def _fingerprint(stream_id: str, error_type: str, status_code: int | None, whep_host: str) -> str:
    # Cached: an outage's reports share a few groups.
    key = f"{stream_id}\x1f{error_type}\x1f{status_code if status_code is not None else ''}"
    return hashlib.sha1(f"{key}\x1f{whep_host}".encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class _Rules:
    """What the settings say about keeping a request's reports: read once a request, not
    for each of its reports (a settings read costs about 0.2 us; a report took ten)."""

    user_agent: bool
    browser: bool
    screen: bool
    secret: str

    @classmethod
    def now(cls) -> "_Rules":
        details = settings.ERRORLOGS_CLIENT_DETAILS
        return cls(
            user_agent="user_agent" in details,
            browser="browser" in details,
            screen="screen" in details,
            secret=settings.SECRET_KEY,
        )


# The text fields of a report and of its clientInfo: (key, length limit, required).
_TEXTS = (
    ("timestamp", 64, True),
    ("streamId", m.STREAM_ID_MAX, True),
    ("errorType", m.ERROR_TYPE_MAX, True),
    ("errorMessage", m.ERROR_MESSAGE_MAX, True),
    ("whepUrl", m.WHEP_URL_MAX, True),
    ("userAgent", m.USER_AGENT_MAX, False),
    ("clientId", m.CLIENT_ID_MAX, False),
)
_INFO_TEXTS = (
    ("browserName", m.BROWSER_NAME_MAX, False),
    ("browserVersion", m.BROWSER_VERSION_MAX, False),
    ("os", m.OS_MAX, False),
    ("screenResolution", m.SCREEN_MAX, False),
)


def _plain_texts(source: dict[str, Any], spec: tuple[tuple[str, int, bool], ...]) -> list[str]:
    """The text fields of ``spec`` when each is a string within its limit (or an optional one
    absent or null: ""); raises ``_NotPlain`` for anything else, which ``_report`` names."""
    values = []
    for key, limit, required in spec:
        value = source.get(key)
        if value is None:
            if required:
                raise _NotPlain()
            value = ""
        elif value.__class__ is not str or len(value) > limit:
            raise _NotPlain()
        values.append(value)
    return values


class _NotPlain(Exception):
    """A report the fast path does not accept: the field by field checks say why."""


def _report_fast(
    item: Any, *, client: Client, received_at: datetime, address: str, rules: _Rules
) -> Report:
    """``_report`` for a report that is valid, in fewer steps (about half the time); raises
    ``_NotPlain`` as soon as anything is not as a valid report has it."""
    if item.__class__ is not dict:
        raise _NotPlain()
    info = item.get("clientInfo")
    if info is None:
        info = {}
    elif info.__class__ is not dict:
        raise _NotPlain()
    texts = _plain_texts(item, _TEXTS)
    info_texts = _plain_texts(info, _INFO_TEXTS)
    timestamp_sent, stream_id, sent_type, message, whep_url, user_agent, client_id = texts
    if not stream_id or _UNSTORABLE.search("".join(texts + info_texts)):
        raise _NotPlain()
    fields = _Fields()
    client_timestamp = _timestamp(timestamp_sent, fields)
    status_code = _status_code(item, fields)
    report_id = _report_id(item, fields)
    if fields.errors:
        raise _NotPlain()
    return _report_kept(
        rules=rules,
        client=client,
        address=address,
        received_at=received_at,
        report_id=report_id,
        timestamp_sent=timestamp_sent,
        client_timestamp=client_timestamp,
        stream_id=stream_id,
        sent_type=sent_type,
        message=message,
        status_code=status_code,
        whep_url=whep_url,
        user_agent=user_agent,
        client_id=client_id,
        info=info_texts,
    )


def _report_kept(
    *,
    rules: _Rules,
    client: Client,
    address: str,
    received_at: datetime,
    report_id: uuid.UUID,
    timestamp_sent: str,
    client_timestamp: datetime | None,
    stream_id: str,
    sent_type: str,
    message: str,
    status_code: int | None,
    whep_url: str,
    user_agent: str,
    client_id: str,
    info: Sequence[str],
) -> Report:
    """The report as it is kept, from its checked fields (``info``: browser name, browser
    version, operating system, screen), both checks' last step."""
    browser_name, browser_version, os_name, screen = info
    known = sent_type in _KNOWN_TYPES
    error_type = sent_type if known else m.ErrorType.UNKNOWN
    kept_url, whep_host = whep_parts(whep_url)
    browser = rules.browser
    return Report(
        report_id=report_id,
        received_at=received_at,
        timestamp_sent=timestamp_sent,
        client_timestamp=client_timestamp,
        stream_id=stream_id,
        error_type=error_type,
        error_type_sent="" if known else sent_type,
        error_message=message,
        status_code=status_code,
        whep_url=kept_url,
        whep_host=whep_host,
        user_agent=user_agent if rules.user_agent else "",
        browser_name=browser_name if browser else "",
        browser_version=browser_version if browser else "",
        os=os_name if browser else "",
        screen_resolution=screen if rules.screen else "",
        client_address=address,
        client_key=_viewer_key(client_id, client.address, user_agent, screen, rules.secret),
        fingerprint=_fingerprint(stream_id, error_type, status_code, whep_host),
    )


def _report(
    item: Any, *, client: Client, received_at: datetime, address: str, rules: _Rules
) -> Report:
    """A report checked field by field, every error named (``_report_fast`` goes first)."""
    fields = _Fields()
    if not isinstance(item, dict):
        raise ReportInvalid(_("A report is a JSON object."))
    timestamp_sent = fields.text(item, "timestamp", 64, required=True)
    client_timestamp = _timestamp(timestamp_sent, fields)
    stream_id = fields.text(item, "streamId", m.STREAM_ID_MAX, required=True)
    if not stream_id and "streamId" not in fields.errors:
        fields.errors["streamId"] = [_("Must not be empty.")]
    sent_type = fields.text(item, "errorType", m.ERROR_TYPE_MAX, required=True)
    message = fields.text(item, "errorMessage", m.ERROR_MESSAGE_MAX, required=True)
    status_code = _status_code(item, fields)
    whep_url = fields.text(item, "whepUrl", m.WHEP_URL_MAX, required=True)
    user_agent = fields.text(item, "userAgent", m.USER_AGENT_MAX, required=False)
    client_id = fields.text(item, "clientId", m.CLIENT_ID_MAX, required=False)
    report_id = _report_id(item, fields)
    info = item.get("clientInfo")
    info_fields = _Fields()
    if info is None:
        info = {}
    elif not isinstance(info, dict):
        fields.errors["clientInfo"] = [_("Must be an object or null.")]
        info = {}
    browser_name = info_fields.text(info, "browserName", m.BROWSER_NAME_MAX, required=False)
    browser_version = info_fields.text(
        info, "browserVersion", m.BROWSER_VERSION_MAX, required=False
    )
    os_name = info_fields.text(info, "os", m.OS_MAX, required=False)
    screen = info_fields.text(info, "screenResolution", m.SCREEN_MAX, required=False)
    if info_fields.errors:
        fields.errors["clientInfo"] = info_fields.errors
    if fields.errors:
        raise _ItemInvalid(fields.errors)
    return _report_kept(
        rules=rules,
        client=client,
        address=address,
        received_at=received_at,
        report_id=report_id,
        timestamp_sent=timestamp_sent,
        client_timestamp=client_timestamp,
        stream_id=stream_id,
        sent_type=sent_type,
        message=message,
        status_code=status_code,
        whep_url=whep_url,
        user_agent=user_agent,
        client_id=client_id,
        info=(browser_name, browser_version, os_name, screen),
    )


class _ItemInvalid(Exception):
    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


def reports_parse(
    body: bytes, *, content_type: str, client: Client, received_at: datetime
) -> list[Report]:
    """The reports of a request body (one object or an array), or ``ReportInvalid`` /
    ``UnsupportedMediaType`` naming what is wrong. All of them or none."""
    media_type_check(content_type)
    items, is_array = body_items(body)
    address = kept_address(client.address)
    rules = _Rules.now()
    reports: list[Report] = []
    errors: dict[str, Any] = {}
    for index, item in enumerate(items):
        try:
            try:
                report = _report_fast(
                    item, client=client, received_at=received_at, address=address, rules=rules
                )
            except _NotPlain:
                report = _report(
                    item, client=client, received_at=received_at, address=address, rules=rules
                )
            reports.append(report)
        except _ItemInvalid as exc:
            errors[str(index)] = exc.errors
        except ReportInvalid as exc:
            errors[str(index)] = [str(exc.message)]
    if errors:
        if not is_array:
            detail = errors["0"]
            message = _("The report is not valid; see detail for each field.")
        else:
            detail = errors
            message = _(
                "%(count)d of the %(total)d reports are not valid (see detail, by position); "
                "none was kept."
            ) % {"count": len(errors), "total": len(items)}
        raise ReportInvalid(message, detail=detail)
    return reports
