"""Stream keys and URL passwords, masked for whoever may not push into an input.

A StreamLink output or a StreamLive input is an RTMP (or SRT, RTSP, HLS) push address whose
last path segment is the stream key (``rtmp://push.example/live/<key>``) and whose query may
carry a signature (``?txSecret=...``); anyone holding it can push a picture into the input.
Viewers see such URLs with the key, the query values and any password masked; Operators and
Admins see them whole. Logs mask them always (``broadcastops.logs.SecretsFilter``).
"""

import re

MASK = "****"

# A URL with a path: scheme://[user[:password]@]host[:port]/segments[?query]
_URL = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)"
    r"(?:(?P<user>[^:/@\s'\"]*)(?::(?P<password>[^@/\s'\"]*))?@)?"
    r"(?P<host>[^/\s?#'\"]+)"
    r"(?P<path>/[^\s?#'\"]*)?"
    r"(?P<query>\?[^\s#'\"]*)?",
    re.IGNORECASE,
)
# The schemes whose last path segment is a stream key.
_STREAM_SCHEMES = {"rtmp://", "rtmps://", "srt://", "rtsp://", "rtmpt://"}


def _mask_match(match: re.Match[str]) -> str:
    scheme = match["scheme"]
    userinfo = ""
    if match["user"] is not None:
        userinfo = match["user"] + (f":{MASK}" if match["password"] is not None else "") + "@"
    path = match["path"] or ""
    if scheme.lower() in _STREAM_SCHEMES:
        head, _, key = path.rpartition("/")
        if key:
            path = f"{head}/{MASK}"
    query = match["query"] or ""
    if query and (scheme.lower() in _STREAM_SCHEMES or "secret" in query.lower()):
        pairs = [p.partition("=") for p in query[1:].split("&")]
        query = "?" + "&".join(f"{k}={MASK}" if eq else k for k, eq, _v in pairs)
    return f"{scheme}{userinfo}{match['host']}{path}{query}"


def secrets_mask(text: str) -> str:
    """``text`` with every stream key, signed query and URL password in it masked."""
    if "://" not in text:
        return text
    return _URL.sub(_mask_match, text)
