"""HTTP routes of the IVS shows, included at the site root by ``broadcastops.urls``.

``/api/stage...`` are the existing player frontend's paths and shapes, kept; new calls live
under ``/api/v1/shows/``.
"""

from django.urls import path

from ivs_scaling import api

app_name = "ivs"

urlpatterns = [
    path("api/stage", api.StageApi.as_view(), name="stage"),
    path("api/stage/join", api.JoinApi.as_view(), name="join"),
    path("api/stage/leave", api.LeaveApi.as_view(), name="leave"),
    path("api/stage/publisher/token", api.PublisherTokenApi.as_view(), name="publisher-token"),
    path(
        "api/stage/replication/publisher-info",
        api.PublisherInfoApi.as_view(),
        name="publisher-info",
    ),
    path(
        "api/stage/replication/start",
        api.ReplicationStartApi.as_view(),
        name="replication-start",
    ),
    path("api/stage/replication/stop", api.ReplicationStopApi.as_view(), name="replication-stop"),
    path("api/v1/shows/", api.ShowListApi.as_view(), name="show-list"),
    path("api/v1/shows/<str:name>/", api.ShowDetailApi.as_view(), name="show-detail"),
    path("api/v1/shows/<str:name>/end", api.ShowEndApi.as_view(), name="show-end"),
    path("api/v1/shows/<str:name>/events/", api.ShowEventListApi.as_view(), name="show-events"),
]
