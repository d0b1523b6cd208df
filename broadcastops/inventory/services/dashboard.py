"""Telling the dashboards that something changed."""

import logging

logger = logging.getLogger(__name__)

DASHBOARD_GROUP = "inventory.dashboard"


def dashboard_nudge() -> None:
    """Tell dashboards in every web process to refresh now (scaled mode; embedded ones poll)."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    try:
        async_to_sync(get_channel_layer().group_send)(
            DASHBOARD_GROUP, {"type": "dashboard.changed"}
        )
    except Exception:  # the dashboards refresh on their own timer anyway
        logger.warning("Could not nudge the dashboards", exc_info=True)
