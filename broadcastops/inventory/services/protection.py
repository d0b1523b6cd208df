"""Whether a channel has input protection, as the input-failover audit last found it.

The inventory (the core) does not know how failover is audited: the failover app calls
``channel_protection_set`` after each audit, and the inventory keeps the answer on the channel
for the one definition of "needs attention" (``inventory.attention``) and the diagnosis.
"""

import logging

from django.db import transaction

from broadcastops.i18n import Message
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.dashboard import dashboard_nudge

logger = logging.getLogger(__name__)


def channel_protection_set(
    *, channel: LiveChannel, protected: bool | None, reason: Message | None = None
) -> bool:
    """Record whether ``channel`` is protected and why not; written only when it changes.

    ``reason`` is the audit's own message (rendered in the reader's language when read);
    ``protected=None`` forgets it (the channel counts as never audited). Returns whether a
    row was written; the dashboards are nudged after the commit when one was.
    """
    reason_json = reason.as_json() if reason is not None else {}
    if channel.input_protected is protected and channel.input_protection_reason == reason_json:
        return False
    LiveChannel.objects.filter(pk=channel.pk).update(
        input_protected=protected, input_protection_reason=reason_json
    )
    if channel.input_protected is not protected:
        logger.info(
            "Channel %s input protection: %s -> %s",
            channel.cloud_id,
            channel.input_protected,
            protected,
        )
    channel.input_protected = protected
    channel.input_protection_reason = reason_json
    transaction.on_commit(dashboard_nudge)
    return True
