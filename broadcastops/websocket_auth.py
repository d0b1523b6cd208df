"""Authentication of WebSocket connections: the Django session, resolved once at the handshake.

Channels' ``AuthMiddlewareStack`` puts a session wrapper around ``send`` that, on every
message, checks whether the session should be saved and a cookie set. A WebSocket can do
neither (only ``http.response.start`` carries cookies), yet the check ran for every frame
sent: about 5 % of daphne's CPU with 300 live-monitoring viewers (py-spy,
benchmarks/streaming_fanout.py). This stack gives the application the session and the user
exactly as ``AuthMiddlewareStack`` does and hands ``send`` through untouched.
"""

from importlib import import_module

from channels.auth import AuthMiddleware
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings

from broadcastops.asgi_types import ASGIApp, Receive, Scope, Send


class WebSocketSessionMiddleware(BaseMiddleware):
    """``scope["session"]`` from the session cookie; never saves (a socket cannot set one)."""

    def __init__(self, inner: ASGIApp) -> None:
        super().__init__(inner)
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
        scope = dict(scope, session=self.session_store(session_key))
        return await self.inner(scope, receive, send)


def WebSocketAuthMiddlewareStack(inner: ASGIApp) -> ASGIApp:
    """Named and used like Channels' ``AuthMiddlewareStack``."""
    return CookieMiddleware(WebSocketSessionMiddleware(AuthMiddleware(inner)))
