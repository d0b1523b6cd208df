"""The schedules' Celery tasks: the beat tick, a tick's claimed steps (and one step: messages
queued before the batches)."""

from celery import shared_task

from scheduling.services import (
    daily_report_post,
    schedule_step_run,
    schedule_steps_run,
    schedule_tick,
)


@shared_task(ignore_result=True)
def schedule_tick_task() -> None:
    """Beat, every SCHEDULING_TICK_INTERVAL_S: claim due steps, follow up their actions."""
    schedule_tick()


@shared_task(ignore_result=True, acks_late=True)
def schedule_step_run_task(step_id: int) -> None:
    """Run one claimed step. A duplicate or redelivered message finds it taken: no-op."""
    schedule_step_run(step_id=step_id)


@shared_task(ignore_result=True, acks_late=True)
def schedule_steps_run_task(step_ids: list[int]) -> None:
    """Run the claimed steps one tick queued together (the tick's batch, one message). A
    duplicate or redelivered message finds them taken: no-op."""
    schedule_steps_run(step_ids=step_ids)


@shared_task(ignore_result=True)
def daily_report_post_task() -> None:
    """Beat, daily at SCHEDULING_REPORT_AT: post yesterday's report to Slack (once)."""
    daily_report_post()
