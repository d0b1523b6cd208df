"""Running what the workers would run, as functions (no eager mode)."""

from broadcastops.notify.models import Notification
from broadcastops.notify.services import notification_deliver
from broadcastops.tests.helpers import actions_run_pending
from scheduling.models import ScheduleStep
from scheduling.tasks import schedule_step_run_task

__all__ = ["actions_run_pending", "deliver_all", "steps_run_claimed"]


def steps_run_claimed() -> list[int]:
    """Run every claimed step's task, as a worker would."""
    ids = list(
        ScheduleStep.objects.filter(state=ScheduleStep.State.CLAIMED)
        .order_by("due_at")
        .values_list("pk", flat=True)
    )
    for step_id in ids:
        schedule_step_run_task(step_id)
    return ids


def deliver_all() -> list[Notification]:
    """Deliver every pending notification, as its task would."""
    pending = Notification.objects.filter(status=Notification.Status.PENDING).order_by("pk")
    return [notification_deliver(notification_id=pk) for pk in pending.values_list("pk", flat=True)]
