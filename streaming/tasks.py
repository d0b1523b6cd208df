"""Celery tasks of live monitoring."""

from celery import shared_task

from streaming.services import upload_prune


@shared_task(ignore_result=True)
def upload_prune_task() -> int:
    """Retention of uploads; idempotent, so a retried or doubled run does no harm."""
    return upload_prune()
