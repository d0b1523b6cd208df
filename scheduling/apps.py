"""Schedules.

Broadcast schedules: pre-broadcast checks and alerts, starting and stopping channels on time
(each step recorded once so two workers never act twice), the daily report and the operational
KPIs.
"""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    name = "scheduling"
    label = "scheduling"
    verbose_name = _("Schedules")

    def ready(self) -> None:
        from broadcastops import registry
        from scheduling import messages  # noqa: F401  (stored messages' codes; see inventory.apps)
        from scheduling.selectors import on_air_for_stream
        from scheduling.services import channel_scheduled_start_run, schedule_guard

        # A schedule's start (flows first, then the channel) runs in the action engine.
        registry.ACTION_RUNNERS.register(channel_scheduled_start_run, key="channel.scheduled_start")
        # A manual stop of a channel a schedule has on air needs an explicit override.
        registry.ACTION_GUARDS.register(schedule_guard)
        # The show on air on a player's stream (errorlogs' incidents name it).
        registry.ON_AIR_LOOKUP.register(on_air_for_stream)
