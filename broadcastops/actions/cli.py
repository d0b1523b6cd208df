"""What management commands that act have in common: say the action began, print its progress
lines as a worker writes them, and end with its outcome (``--no-wait``: return at once)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import timezone
from django.utils.translation import gettext as _

from broadcastops.actions.models import OperatorAction, Origin
from broadcastops.actions.selectors import ProgressLine, action_follow, action_outcome
from broadcastops.actions.types import Actor


def command_actor(username: str | None) -> Actor:
    """Who a command acts as: ``--user`` (a console user), else nobody (origin command)."""
    user = None
    if username:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user %(name)r.") % {"name": username})
    return Actor.of(user, Origin.COMMAND)


def add_wait_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--no-wait", action="store_true", help="return once the action is begun (it runs on)"
    )
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        help="stop waiting after this many seconds (default ACTIONS_WAIT_TIMEOUT_S)",
    )


def progress_print(out: OutputWrapper, line: ProgressLine) -> None:
    when = timezone.localtime(line.at).strftime("%H:%M:%S") if line.at else ""
    out.write(f"  {when} {line.step}")
    out.flush()  # as it comes, through a pipe too


def action_follow_print(
    command: BaseCommand, action: OperatorAction, *, options: dict[str, Any]
) -> OperatorAction | None:
    """Print the action's progress until it ends; the final row, or None when not waiting.

    With ``--json`` the lines go to stderr, so stdout holds only the JSON. Raises
    ``CommandError`` (exit status 1) when the action failed or the wait timed out."""
    if action.status != OperatorAction.Status.RUNNING:
        return action
    out = command.stderr if options.get("json") else command.stdout
    out.write(
        _("Action #%(id)s (%(kind)s on %(name)s) is running; follow it with: %(how)s")
        % {
            "id": action.pk,
            "kind": action.action,
            "name": action.target_name,
            "how": f"manage.py follow_action {action.pk}",
        }
    )
    out.flush()
    if options.get("no_wait"):
        return None
    timeout_s = options.get("wait_timeout") or settings.ACTIONS_WAIT_TIMEOUT_S
    for event in action_follow(action_id=action.pk, timeout_s=timeout_s):
        if event.kind == "progress" and event.line is not None:
            progress_print(out, event.line)
        elif event.kind == "unclaimed":
            command.stderr.write(
                _("No worker has taken the action yet: is the Celery worker running?")
            )
        elif event.kind == "timeout":
            raise CommandError(
                _("Stopped waiting after %(s)s s; the action goes on (follow_action %(id)s).")
                % {"s": int(timeout_s), "id": action.pk}
            )
        elif event.kind == "finished":
            if event.action.status == OperatorAction.Status.FAILED:
                raise CommandError(f"FAILED: {action_outcome(event.action)}")
            return event.action
    return None
