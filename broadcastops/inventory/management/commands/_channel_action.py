"""The base of start_channel, stop_channel and restart_channel: begin the action, then wait
for the worker to finish it, printing its progress (``--no-wait``: return at once)."""

from django.core.management.base import BaseCommand, CommandError

from broadcastops.actions.cli import action_follow_print, add_wait_arguments, command_actor
from broadcastops.actions.selectors import action_outcome
from broadcastops.errors import ApplicationError
from broadcastops.inventory.selectors import channel_get


class ChannelActionCommand(BaseCommand):
    service = None  # set by each command: a broadcastops.inventory.services.actions function

    def add_arguments(self, parser):
        parser.add_argument("channel", help="name, cloud id or database id")
        parser.add_argument(
            "--override", action="store_true", help="act even if a schedule forbids it"
        )
        parser.add_argument("--user", help="record the action under this user (default: none)")
        add_wait_arguments(parser)

    def handle(self, *args, **options):
        actor = command_actor(options["user"])
        try:
            channel = channel_get(key=options["channel"])
            action = self.service(
                channel=channel,
                actor=actor,
                override=options["override"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        final = action_follow_print(self, action, options=options)
        if final is not None:
            self.stdout.write(f"{final.status.upper()}: {action_outcome(final)}")
