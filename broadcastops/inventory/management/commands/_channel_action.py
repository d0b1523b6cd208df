"""The base of start_channel, stop_channel and restart_channel: begin the action, then wait
for the worker to finish it, printing its progress (``--no-wait``: return at once)."""

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from broadcastops.actions.cli import action_follow_print, add_wait_arguments, command_actor
from broadcastops.actions.models import OperatorAction
from broadcastops.actions.selectors import action_outcome
from broadcastops.errors import ApplicationError
from broadcastops.inventory.selectors import channel_get


class ChannelActionCommand(BaseCommand):
    # Set by each command: one of broadcastops.inventory.services.actions' channel services.
    service: Callable[..., OperatorAction]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channel", help="name, cloud id or database id")
        parser.add_argument(
            "--override", action="store_true", help="act even if a schedule forbids it"
        )
        parser.add_argument("--user", help="record the action under this user (default: none)")
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
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
