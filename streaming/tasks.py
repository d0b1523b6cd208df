"""Celery tasks of live monitoring."""

from celery import shared_task

from streaming.services import stream_feeds_lost_sweep, upload_prune


@shared_task(ignore_result=True)
def upload_prune_task() -> int:
    """Retention of uploads; idempotent, so a retried or doubled run does no harm."""
    return upload_prune()


@shared_task(ignore_result=True)
def stream_feeds_lost_sweep_task() -> int:
    """Scaled mode: lost feeds of sessions whose stream worker died (idempotent)."""
    return stream_feeds_lost_sweep()
