"""ASGI entry point: HTTP through Django, WebSocket through Channels.

HTTP goes through ``GuardedASGIHandler`` (``broadcastops.request_guard``): Django's handler
with each request body judged by the request's headers (the route's size limit, the login the
route needs) before it is read. The web process serves this with ``broadcastops.webserver``
(daphne that reads a body only as the application asks for it).

WebSocket connections are authenticated with the Django session (resolved once at the
handshake, ``broadcastops.websocket_auth``) and refused unless their Origin is the console's
own (scheme, host and port) or a trusted one (``broadcastops.origins``). Each app
contributes its socket routes in ``<app>/routing.py`` as ``websocket_urlpatterns``.
"""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadcastops.settings")
# What django.core.asgi.get_asgi_application() does, with the guarded handler.
django.setup(set_prefix=False)

from broadcastops.request_guard import GuardedASGIHandler  # noqa: E402

django_asgi_app = GuardedASGIHandler()

import autobahn.util  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from broadcastops.origins import WebSocketOriginValidator  # noqa: E402
from broadcastops.routing import websocket_urlpatterns  # noqa: E402
from broadcastops.websocket_auth import WebSocketAuthMiddlewareStack  # noqa: E402

# autobahn (daphne's WebSocket engine) builds the arguments of a debug log line with click's
# colours on every message it sends, whether or not debug logging is on: 6.8 µs a send, about
# 4 % of daphne's CPU with 300 live-monitoring viewers. Without the colours the same
# arguments cost 2.3 µs; only autobahn's own debug lines (never enabled here) lose colour.
autobahn.util._HAS_CLICK = False

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebSocketOriginValidator(
            WebSocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# Everything loaded so far (Django, the apps, the URL and WebSocket routes) lives as long as the
# process: leave it out of the collector's full passes, which otherwise walked all of it and
# stalled the event loop for 46-82 ms (measured with gc.callbacks in daphne; 8-14 ms after).
gc.freeze()
