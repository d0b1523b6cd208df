import logging

from celery import shared_task

from broadcastops.inventory.services.sync import inventory_poll

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def inventory_poll_task() -> None:
    """One poll (beat, every INVENTORY_ON_AIR_INTERVAL_S); skips if another is running."""
    inventory_poll()
