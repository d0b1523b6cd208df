"""Which web origins the console trusts: its own, and the ones configured.

An origin is ``scheme://host[:port]``; two origins are the same only when all three match
(``http://localhost:3000`` is not ``http://localhost:8000``). The console trusts its own
origin (the scheme and Host of the request or socket itself), ``CSRF_TRUSTED_ORIGINS`` (where
``https://*.example.com`` trusts every subdomain, as in Django's CSRF check) and
``CORS_ALLOWED_ORIGINS`` (the player frontend). Used by the WebSocket origin check and by
the MJPEG URL, whose start and playback parameters only same-site requests may use.
"""

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from broadcastops.asgi_types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

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


def _socket_own_origin(scope: Scope) -> str | None:
    """The origin a page of this console has, from the socket's Host (None: no valid Host)."""
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin1")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        secure = secure or headers.get(name, b"").decode("latin1") == proxy[1]
    return f"{'https' if secure else 'http'}://{host}"


def socket_origin_trusted(scope: Scope) -> bool:
    """A WebSocket handshake from a page of this console, or of a trusted origin."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin", b"").decode("latin1")
    return origin_trusted(origin, own=_socket_own_origin(scope))


class WebSocketOriginValidator:
    """Refuse a WebSocket handshake whose Origin is not trusted (scheme, host and port).

    Channels' ``AllowedHostsOriginValidator`` compared the host only, so a page on another
    port of an allowed host (``http://localhost:3000``) could open the console's sockets with
    the operator's session cookie.
    """

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not socket_origin_trusted(scope):
            headers = dict(scope.get("headers") or [])
            logger.warning(
                "WebSocket refused path=%s: origin %s is not trusted",
                scope.get("path"),
                headers.get(b"origin", b"-").decode("latin1")[:200],
            )
            await WebsocketDenier()(scope, receive, send)
            return
        await self.application(scope, receive, send)
