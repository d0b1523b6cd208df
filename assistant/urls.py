"""HTTP routes of assistants, included at the site root by ``broadcastops.urls``."""

from django.urls import path

from assistant import api

urlpatterns = [
    path("api/v1/slack/commands", api.SlackCommandsApi.as_view(), name="slack-commands"),
    path(
        "api/v1/slack/interactions", api.SlackInteractionsApi.as_view(), name="slack-interactions"
    ),
]
