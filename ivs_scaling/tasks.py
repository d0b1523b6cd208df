"""Beat tasks of the IVS scaler; each a thin call into a service. The scale actions
themselves run in the action engine's task (``broadcastops.actions.tasks``)."""

from celery import shared_task

from ivs_scaling.services.reconcile import show_reconcile_all
from ivs_scaling.services.scaling import show_watch_all


@shared_task(ignore_result=True)
def show_watch_task() -> None:
    """Every IVS_WATCH_INTERVAL_S: the broadcaster's state, pending replications, scale down."""
    show_watch_all()


@shared_task(ignore_result=True)
def show_reconcile_task() -> None:
    """Every IVS_RECONCILE_INTERVAL_S: the database against IVS's lists."""
    show_reconcile_all()
