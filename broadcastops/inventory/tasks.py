import logging

from celery import shared_task

from broadcastops.inventory.services.sync import channel_refresh, inventory_poll

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def inventory_poll_task() -> None:
    """One poll (beat, every INVENTORY_ON_AIR_INTERVAL_S); skips if another is running."""
    inventory_poll()


@shared_task(ignore_result=True)
def channel_refresh_task(channel_id: str) -> None:
    """One channel's details now, after a push callback (``services.push``)."""
    channel_refresh(channel_id=channel_id)
