"""HTTP routes of player errors, included at the site root by ``broadcastops.urls``."""

from django.urls import path

from errorlogs import api, views

app_name = "errorlogs"

urlpatterns = [
    # Kept for the existing player frontend. The web process serves the POST itself
    # (errorlogs.endpoint, registered in registry.HTTP_ENDPOINTS); this view everywhere else.
    path("api/v1/error-logs/mediamtx", api.ErrorReportCreateApi.as_view(), name="report-create"),
    path("api/v1/error-logs/mediamtx/latest", api.ErrorReportLatestApi.as_view(), name="latest"),
    path("player-errors/", views.statistics_page, name="statistics"),
    path("player-errors/demo-player/", views.demo_player_page, name="demo-player"),
]
