"""Stream keys and URL passwords, masked for whoever may not push into an input.

A StreamLink output or a StreamLive input is an RTMP (or SRT, RTSP, HLS) push address whose
last path segment is the stream key (``rtmp://push.example/live/<key>``) and whose query may
carry a signature (``?txSecret=...``); anyone holding it can push a picture into the input.
Viewers see such URLs with the key, the query values and any password masked; Operators and
Admins see them whole. Logs mask them always (``broadcastops.logs.SecretsFilter``).

``secrets_hide`` also hides the values of the secret settings (a cloud SecretKey, the Slack
webhook, a database password) wherever they appear: for what is stored and shown to anyone,
such as an action's progress and outcome, and error pages (``broadcastops.error_reports``).
"""

import re
from typing import Any

MASK = "****"

# The names of settings holding secrets: Django's list, and this project's secret-bearing ones.
SECRET_SETTING_NAMES = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|WEBHOOK|DSN|CREDENTIAL"
    r"|(DATABASE|REDIS|BROKER|CACHE)_URL|RESULT_BACKEND",
    flags=re.IGNORECASE,
)
# Shorter values are not worth hiding by value (and would mask harmless text).
_MIN_SECRET_CHARS = 8

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


def secret_setting_values(names: re.Pattern[str] = SECRET_SETTING_NAMES) -> list[str]:
    """The values of the settings whose names look secret, longest first."""
    from django.conf import settings

    values = []
    for name in dir(settings):
        if name.isupper() and names.search(name):
            value = getattr(settings, name, None)
            if isinstance(value, str) and len(value) >= _MIN_SECRET_CHARS:
                values.append(value)
    return sorted(values, key=len, reverse=True)


def secrets_hide(value: Any, secrets: list[str] | None = None) -> Any:
    """``value`` (a string, or JSON: dicts and lists of them) with every secret setting's
    value replaced by ``****`` and every stream key, signed query and URL password masked."""
    if secrets is None:
        secrets = secret_setting_values()
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return secrets_mask(value)
    if isinstance(value, dict):
        return {k: secrets_hide(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [secrets_hide(v, secrets) for v in value]
    return value
