"""HTTP routes of live monitoring, included at the site root by ``broadcastops.urls``."""

from django.urls import path, re_path
from django.views.i18n import JavaScriptCatalog

from streaming import api, views
from streaming.camera_ids import CAMERA_ID_ROUTE as CAMERA

app_name = "streaming"
V1 = "api/v1/live-monitoring"

urlpatterns = [
    path("live-monitoring/", views.live_monitoring_page, name="page"),
    path("live-monitoring/wall/", views.camera_wall_page, name="wall"),
    # Django's JavaScript catalogue (domain djangojs) for the page script's gettext().
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # Kept for the existing player frontend.
    path("api/live-monitoring/upload-video", api.UploadCreateApi.as_view(), name="legacy-upload"),
    re_path(rf"^api/live-monitoring/stream/{CAMERA}$", views.mjpeg_stream, name="legacy-mjpeg"),
    re_path(
        rf"^api/live-monitoring/stream/{CAMERA}/snapshot\.jpg$",
        views.snapshot,
        name="legacy-snapshot",
    ),
    # Versioned API.
    path(f"{V1}/uploads", api.UploadListApi.as_view(), name="upload-list"),
    path(f"{V1}/uploads/create", api.UploadCreateApi.as_view(), name="upload-create"),
    path(f"{V1}/uploads/<uuid:upload_id>", api.UploadDetailApi.as_view(), name="upload-detail"),
    path(
        f"{V1}/uploads/<uuid:upload_id>/delete",
        api.UploadDeleteApi.as_view(),
        name="upload-delete",
    ),
    path(f"{V1}/streams", api.StreamListApi.as_view(), name="stream-list"),
    path(f"{V1}/health", api.FeedHealthApi.as_view(), name="feed-health"),
    path(f"{V1}/wall", api.WallApi.as_view(), name="wall-detail"),
    path(f"{V1}/wall/layout", api.WallLayoutApi.as_view(), name="wall-layout"),
    path(f"{V1}/alarms", api.PictureAlarmListApi.as_view(), name="alarm-list"),
    re_path(rf"^{V1}/cameras/{CAMERA}$", api.StreamDetailApi.as_view(), name="stream-detail"),
    re_path(rf"^{V1}/cameras/{CAMERA}/start$", api.StreamStartApi.as_view(), name="stream-start"),
    re_path(rf"^{V1}/cameras/{CAMERA}/stop$", api.StreamStopApi.as_view(), name="stream-stop"),
    re_path(
        rf"^{V1}/cameras/{CAMERA}/playback$", api.StreamUpdateApi.as_view(), name="stream-update"
    ),
    re_path(rf"^{V1}/cameras/{CAMERA}/stream\.mjpg$", views.mjpeg_stream, name="mjpeg"),
    re_path(rf"^{V1}/cameras/{CAMERA}/snapshot\.jpg$", views.snapshot, name="snapshot"),
]
