from django.urls import re_path

from streaming.consumers import live_monitoring_socket

websocket_urlpatterns = [
    re_path(
        r"^ws/live-monitoring/(?P<camera_id>[A-Za-z0-9_.-]{1,64})/$",
        live_monitoring_socket,  # type: ignore[arg-type]  # an ASGI app, as Channels routes allow
    ),
]
