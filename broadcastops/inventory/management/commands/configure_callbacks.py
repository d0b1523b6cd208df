from broadcastops.inventory.management.commands._channel_action import ChannelActionCommand
from broadcastops.inventory.services import actions


class Command(ChannelActionCommand):
    help = (
        "Point a StreamLive channel's push callbacks at this console "
        "(TENCENT_EVENTS_NOTIFY_URL, key TENCENT_EVENTS_NOTIFY_KEY): ModifyStreamLiveChannel "
        "with EventNotifySettings set and every other field sent back as read. Waits for the "
        "worker and prints its progress."
    )
    service = staticmethod(actions.channel_push_events_configure)
