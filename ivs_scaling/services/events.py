"""The show's event log: one row per step, written where the step happens."""

from __future__ import annotations

import logging

from django.utils import timezone

from broadcastops.actions.text import Text
from ivs_scaling.models import Show, ShowEvent, Stage

logger = logging.getLogger(__name__)

Level = ShowEvent.Level
_LOG = {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING, Level.ERROR: logging.ERROR}


def event_record(
    *,
    show: Show | int,
    kind: str,
    line: Text,
    stage: Stage | None = None,
    level: str = Level.INFO,
    action_id: int | None = None,
) -> ShowEvent:
    """Write one event (the sentence is stored as its message id and parameters, rendered in
    the reader's language when read) and log it in English with the show and stage."""
    english = line.english()
    show_id = show if isinstance(show, int) else show.pk
    event = ShowEvent.objects.create(
        show_id=show_id,
        stage=stage,
        at=timezone.now(),
        kind=kind,
        level=level,
        text=english,
        text_msg=line.to_json(),
        action_id=action_id,
    )
    logger.log(
        _LOG.get(Level(level), logging.INFO),
        "IVS show %s%s: %s",
        show_id,
        f" stage {stage.arn or stage.name}" if stage is not None else "",
        english,
    )
    return event
