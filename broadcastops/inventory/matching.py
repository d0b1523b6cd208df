"""How resources are linked: by endpoint, since no API links them by id.

StreamLink output -> StreamLive input: RTMP by full URL (address + app + stream key), RTP/SRT
by host and port (reference/tencent-media-api.md 3.3). StreamLive output group -> StreamPackage
channel by ``StreamPackageSettings.Id`` or by destination URL; -> CSS stream by push URL.
"""

import re
from urllib.parse import urlsplit

from broadcastops.inventory.models import InputRole

_DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443, "http": 80, "https": 443}

# Flow names operators use: cj_onstyle_m2 / cj_onstyle_b2, kbo-main / kbo-backup, ...
_MAIN_NAME = re.compile(r"(^|[_\-\s.])(m\d*|main|primary|pri)($|[_\-\s.\d])", re.IGNORECASE)
_BACKUP_NAME = re.compile(
    r"(^|[_\-\s.])(b\d*|bk|backup|bak|secondary|sec)($|[_\-\s.\d])", re.IGNORECASE
)


def endpoint_key(url: str) -> str:
    """Normalise a push URL: lower-case scheme and host, default port dropped, no query, no
    trailing slash. ``rtmp://Host:1935/live/abc?k=v`` -> ``rtmp://host/live/abc``."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    return f"{scheme}://{netloc}{path}"


def join_url(base: str, *parts: str) -> str:
    """``base`` + ``/part`` for each non-empty part, without doubled slashes."""
    url = (base or "").rstrip("/")
    for part in parts:
        if part:
            url += "/" + part.strip("/")
    return url


def host_port_key(scheme: str, host: str, port: int | str) -> str:
    return f"{scheme.lower()}://{host.lower()}:{int(port)}"


def role_from_name(name: str) -> tuple[str, str]:
    """(role, confidence) suggested by a flow's name; ``low`` because names are typed by hand."""
    main = bool(_MAIN_NAME.search(name or ""))
    backup = bool(_BACKUP_NAME.search(name or ""))
    if main and not backup:
        return InputRole.MAIN, "low"
    if backup and not main:
        return InputRole.BACKUP, "low"
    return InputRole.UNKNOWN, "none"


def match_flows_to_inputs(
    flows: dict[str, list[str]], inputs: dict[str, list[str]]
) -> dict[str, str | None]:
    """Map each flow id to the input id whose endpoints share a key with the flow's outputs.

    ``flows`` and ``inputs`` map ids to endpoint keys. A flow matching no input maps to None;
    a flow matching several inputs maps to the first by id (and is reported as ambiguous by
    the caller if it wishes).
    """
    by_key: dict[str, str] = {}
    for input_id in sorted(inputs):
        for key in inputs[input_id]:
            by_key.setdefault(key, input_id)
    result: dict[str, str | None] = {}
    for flow_id, keys in flows.items():
        result[flow_id] = next((by_key[k] for k in keys if k in by_key), None)
    return result
