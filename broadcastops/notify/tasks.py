from celery import Task, shared_task
from django.conf import settings

from broadcastops.notify.services import notification_deliver, notification_redeliver
from broadcastops.notify.slack import DeliveryTransientError


@shared_task(bind=True, max_retries=None, ignore_result=True)
def notification_deliver_task(self: Task, notification_id: int) -> None:
    """Deliver one notification; the service bounds the attempts (NOTIFY_MAX_ATTEMPTS)."""
    try:
        # The task's id stays the same across its retries: the retry keeps the claim.
        notification_deliver(notification_id=notification_id, claimant=self.request.id or "")
    except DeliveryTransientError as exc:
        backoff_s = min(settings.NOTIFY_RETRY_BACKOFF_S * 2**self.request.retries, 300)
        raise self.retry(countdown=exc.retry_after_s or backoff_s) from exc


@shared_task(ignore_result=True)
def notification_redeliver_task() -> None:
    """Beat: queue again the notifications whose delivery was lost."""
    notification_redeliver()
