from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from broadcastops.actions.cli import action_follow_print, add_wait_arguments, progress_print
from broadcastops.actions.models import OperatorAction
from broadcastops.actions.selectors import action_get, action_outcome, action_progress_lines
from broadcastops.errors import ApplicationError


class Command(BaseCommand):
    help = "Follow an operator action: its progress lines as they come, then its outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action_id", type=int)
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            action = action_get(action_id=options["action_id"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        final: OperatorAction | None = action
        if action.status != OperatorAction.Status.RUNNING:
            for line in action_progress_lines(action):
                progress_print(self.stdout, line)
        else:
            final = action_follow_print(self, action, options=options)
        if final is not None:
            self.stdout.write(f"{final.status.upper()}: {action_outcome(final)}")
