"""Which web origins the console trusts: its own, and the ones configured.

An origin is ``scheme://host[:port]``; two origins are the same only when all three match
(``http://localhost:3000`` is not ``http://localhost:8000``). The console trusts its own
origin (the scheme and Host of the request or socket itself), ``CSRF_TRUSTED_ORIGINS`` (where
``https://*.example.com`` trusts every subdomain, as in Django's CSRF check) and
``CORS_ALLOWED_ORIGINS`` (the player frontend). Used by the WebSocket origin check and by
the MJPEG URL, whose start and playback parameters only same-site requests may use.
"""

from urllib.parse import urlsplit

from django.conf import settings

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL or origin, lower-cased, default port left out."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _trusted() -> list[str]:
    return [*settings.CSRF_TRUSTED_ORIGINS, *settings.CORS_ALLOWED_ORIGINS]


def origin_trusted(origin: str | None, *, own: str | None) -> bool:
    """True when ``origin`` is the console's own origin ``own`` or a configured one."""
    origin = origin_of(origin) if origin else None
    if origin is None:
        return False
    if own is not None and origin == origin_of(own):
        return True
    for trusted in _trusted():
        if "://*." in trusted:
            scheme, _, suffix = trusted.partition("://*.")
            candidate = origin_of(f"{scheme}://{suffix}")
            if candidate and origin.startswith(f"{scheme.lower()}://"):
                host_port = origin.split("://", 1)[1]
                if host_port.endswith("." + candidate.split("://", 1)[1]):
                    return True
        elif origin == origin_of(trusted):
            return True
    return False
