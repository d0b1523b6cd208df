from django.urls import re_path

from streaming.camera_ids import CAMERA_ID_ROUTE
from streaming.consumers import live_monitoring_socket, live_wall_socket

websocket_urlpatterns = [
    # Not under ws/live-monitoring/: "wall" is a valid camera id there.
    re_path(
        r"^ws/live-monitoring-wall/$",
        live_wall_socket,  # type: ignore[arg-type]  # an ASGI app, as Channels routes allow
    ),
    re_path(
        rf"^ws/live-monitoring/{CAMERA_ID_ROUTE}/$",
        live_monitoring_socket,  # type: ignore[arg-type]  # an ASGI app, as Channels routes allow
    ),
]
