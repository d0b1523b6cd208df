"""Reads of the audit trail: lists, one action, its lines in the reader's language, and a
follower for commands that wait for an action to end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.text import text_render
from broadcastops.errors import NotFound


def action_list(
    *, target_type: str = "", target_id: str = "", kinds: tuple[str, ...] = ()
) -> QuerySet[OperatorAction]:
    actions = OperatorAction.objects.select_related("actor")
    if target_type:
        actions = actions.filter(target_type=target_type)
    if target_id:
        actions = actions.filter(target_id=target_id)
    if kinds:
        actions = actions.filter(action__in=kinds)
    return actions


def action_get(*, action_id: int) -> OperatorAction:
    action = OperatorAction.objects.select_related("actor").filter(pk=action_id).first()
    if action is None:
        raise NotFound(_("No action %(id)s.") % {"id": action_id})
    return action


@dataclass(frozen=True)
class ProgressLine:
    at: datetime | None
    step: str  # in the active language


def action_progress_lines(action: OperatorAction) -> list[ProgressLine]:
    """The progress in the active language (rows from before translation: as written)."""
    return [
        ProgressLine(
            at=parse_datetime(entry.get("at") or ""),
            step=text_render(entry.get("msg"), entry.get("step", "")),
        )
        for entry in action.progress
    ]


def action_outcome(action: OperatorAction) -> str:
    """The outcome in the active language."""
    return text_render(action.outcome_msg, action.outcome)


@dataclass(frozen=True)
class FollowEvent:
    """What a follower sees: a new progress line, the end, or waiting for a worker."""

    kind: str  # "progress", "finished", "unclaimed", "timeout"
    action: OperatorAction
    line: ProgressLine | None = None


def action_follow(
    *, action_id: int, timeout_s: float, poll_s: float = 0.5, unclaimed_after_s: float = 10.0
) -> Iterator[FollowEvent]:
    """Read the action until it ends, yielding each new progress line as it is written.

    Ends with ``finished``, or ``timeout`` (the action goes on; only the wait ends). Says
    ``unclaimed`` once if no worker has taken the action after ``unclaimed_after_s``."""
    started = time.monotonic()
    seen = 0
    warned = False
    while True:
        action = action_get(action_id=action_id)
        lines = action_progress_lines(action)
        for line in lines[seen:]:
            yield FollowEvent("progress", action, line)
        seen = len(lines)
        if action.status != OperatorAction.Status.RUNNING:
            yield FollowEvent("finished", action)
            return
        waited = time.monotonic() - started
        if not warned and action.attempts == 0 and waited >= unclaimed_after_s:
            warned = True
            yield FollowEvent("unclaimed", action)
        if waited >= timeout_s:
            yield FollowEvent("timeout", action)
            return
        time.sleep(poll_s)
