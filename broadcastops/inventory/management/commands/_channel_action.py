"""The base of start_channel, stop_channel and restart_channel: begin the action, then wait
for the worker to finish it, printing its progress (``--no-wait``: return at once)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from broadcastops.actions.cli import action_follow_print, add_wait_arguments
from broadcastops.actions.models import Origin
from broadcastops.actions.selectors import action_outcome
from broadcastops.actions.types import Actor
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
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            channel = channel_get(key=options["channel"])
            action = self.service(
                channel=channel,
                actor=Actor.of(user, Origin.COMMAND),
                override=options["override"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        final = action_follow_print(self, action, options=options)
        if final is not None:
            self.stdout.write(f"{final.status.upper()}: {action_outcome(final)}")
