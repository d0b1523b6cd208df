"""Which show is on air on a player's stream: asked of the app that keeps the schedules.

The core knows no schedule. The app that does (``scheduling``) registers a lookup into
``registry.ON_AIR_LOOKUP``; whoever needs the answer (errorlogs: the show an outage hit)
calls ``on_air_lookup`` and gets an ``OnAir`` or ``None``, never an error.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from broadcastops import registry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnAir:
    """A show (a broadcast schedule) on air on a stream at a moment."""

    title: str
    schedule_id: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    channel: str = ""  # the channel the schedule runs, as its app names it
    url: str = ""  # where an operator reads the schedule (an admin page), if any


def on_air_lookup(*, stream_id: str, host: str, at: datetime) -> OnAir | None:
    """The show on air on ``stream_id`` (served by ``host``) at ``at``: the first lookup that
    answers; ``None`` when no app is registered or none knows. A failing lookup is logged."""
    for lookup in registry.ON_AIR_LOOKUP.all():
        try:
            found = lookup(stream_id=stream_id, host=host, at=at)
        except Exception:
            logger.exception("On-air lookup %s failed for stream %s", lookup, stream_id)
            continue
        if isinstance(found, OnAir):
            return found
    return None
