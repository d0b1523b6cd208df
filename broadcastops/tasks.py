"""Project-wide Celery tasks."""

from celery import shared_task

from broadcastops.health import heartbeat_record


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    """Prove that beat schedules and a worker runs: the health check reads the timestamp."""
    heartbeat_record()
