"""What changes schedules: create, update, move, cancel (``schedules``); the beat tick and
its steps (``automation``); the pre-air check (``checks``); the daily report's post
(``reports``)."""

from scheduling.services.automation import (
    channel_scheduled_start_run,
    schedule_guard,
    schedule_step_run,
    schedule_steps_run,
    schedule_tick,
)
from scheduling.services.reports import daily_report_post
from scheduling.services.schedules import (
    ScheduleResult,
    WeeklyRule,
    schedule_cancel,
    schedule_create,
    schedule_update,
    schedule_validate,
)

__all__ = [
    "ScheduleResult",
    "WeeklyRule",
    "channel_scheduled_start_run",
    "daily_report_post",
    "schedule_cancel",
    "schedule_create",
    "schedule_guard",
    "schedule_step_run",
    "schedule_steps_run",
    "schedule_tick",
    "schedule_update",
    "schedule_validate",
]
