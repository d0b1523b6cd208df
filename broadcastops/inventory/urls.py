"""HTTP routes of the inventory, included at the site root by ``broadcastops.urls``."""

from django.urls import path

from broadcastops.inventory import api

urlpatterns = [
    path("api/v1/channels/", api.ChannelListApi.as_view(), name="channel-list"),
    path("api/v1/channels/<str:key>/", api.ChannelDetailApi.as_view(), name="channel-detail"),
    path("api/v1/channels/<str:key>/start", api.ChannelStartApi.as_view()),
    path("api/v1/channels/<str:key>/stop", api.ChannelStopApi.as_view()),
    path("api/v1/channels/<str:key>/restart", api.ChannelRestartApi.as_view()),
    path("api/v1/flows/", api.FlowListApi.as_view(), name="flow-list"),
    path("api/v1/flows/<str:key>/start", api.FlowStartApi.as_view()),
    path("api/v1/flows/<str:key>/stop", api.FlowStopApi.as_view()),
    path("api/v1/status/", api.StatusApi.as_view(), name="status"),
    path("api/v1/tencent/events", api.TencentEventsApi.as_view(), name="tencent-events"),
]
