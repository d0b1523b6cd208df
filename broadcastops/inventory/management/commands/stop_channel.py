from broadcastops.inventory.management.commands._channel_action import ChannelActionCommand
from broadcastops.inventory.services.actions import channel_stop


class Command(ChannelActionCommand):
    help = "Stop a StreamLive channel (in the Celery worker); waits and prints its progress."
    service = staticmethod(channel_stop)
