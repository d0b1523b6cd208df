from django.urls import re_path

from streaming.camera_ids import CAMERA_ID_ROUTE
from streaming.consumers import live_monitoring_socket

websocket_urlpatterns = [
    re_path(
        rf"^ws/live-monitoring/{CAMERA_ID_ROUTE}/$",
        live_monitoring_socket,  # type: ignore[arg-type]  # an ASGI app, as Channels routes allow
    ),
]
