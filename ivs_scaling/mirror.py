"""The broadcaster's state mirrored in Redis (the scaled mode), for fast reads.

The database is the record; every change of the publisher is written here after its commit,
and the watch rewrites it every tick, so a lost write heals within a tick and the key expires
if nobody maintains it. Without ``REDIS_URL`` (the embedded mode) nothing is mirrored and
reads go to the database. A Redis failure is logged and the reader falls back to the database.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

PREFIX = "broadcastops:ivs:publisher:"
TTL_S = 300


@dataclass(frozen=True)
class PublisherState:
    """What readers need of the broadcaster: the existing frontend's fields, and the doors."""

    participant_id: str
    stage_arn: str
    user_id: str
    publishing: bool
    doors_open: bool


@functools.cache
def _client() -> Any:
    import redis

    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
        decode_responses=True,
    )


def enabled() -> bool:
    return bool(settings.REDIS_URL)


def mirror_write(show_id: int, state: PublisherState | None) -> None:
    """Write (or, with ``None``, remove) the show's publisher; never raises."""
    if not enabled():
        return
    import redis

    key = f"{PREFIX}{show_id}"
    try:
        if state is None:
            _client().delete(key)
            return
        fields = {k: str(int(v)) if isinstance(v, bool) else v for k, v in asdict(state).items()}
        pipe = _client().pipeline()
        pipe.hset(key, mapping=fields)
        pipe.expire(key, TTL_S)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("IVS publisher mirror of show %s not written: %s", show_id, exc)


def mirror_read(show_id: int) -> PublisherState | None:
    """The mirrored publisher, or ``None`` (not mirrored, absent, or Redis unavailable)."""
    if not enabled():
        return None
    import redis

    try:
        raw = _client().hgetall(f"{PREFIX}{show_id}")
    except redis.RedisError as exc:
        logger.warning("IVS publisher mirror of show %s not read: %s", show_id, exc)
        return None
    if not raw or "participant_id" not in raw:
        return None
    return PublisherState(
        participant_id=raw["participant_id"],
        stage_arn=raw.get("stage_arn", ""),
        user_id=raw.get("user_id", ""),
        publishing=raw.get("publishing") == "1",
        doors_open=raw.get("doors_open") == "1",
    )
