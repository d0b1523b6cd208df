"""Viewer seats: the join's decision, the token, leaving and freeing seats.

The decision is the hot path (a thousand joins a second): in the request, no Celery round
trip. It reads the show's live stages once, then takes a seat on the first one with room
(the master, then the newest secondary) with one conditional update,
``viewer_count = viewer_count + 1 WHERE viewer_count < capacity AND state = 'active'``, in
the same short transaction as the seat's row. Whatever the number of joins at once, a stage
never passes its capacity: the update settles every race (PostgreSQL re-checks the condition
on the row it locked; SQLite runs one writer at a time), and a check constraint refuses an
overfilled row anyway. A join that takes one of the last free seats asks the scaler, which
decides under the show's lock with fresh counts (``scaling.scale_up_check``); "the last"
includes a margin (``IVS_SCALE_CHECK_MARGIN``) for the joins that committed after this one
read the stages, so the join that really crosses the threshold always asks.

The IVS token is asked for after the commit (no cloud call inside a transaction); if IVS
cannot give one, the seat is freed again, so a failed join holds nothing.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from broadcastops.actions.text import text
from broadcastops.cloud.errors import CloudError, CloudRateLimited
from broadcastops.cloud.ivs import ParticipantToken
from broadcastops.errors import ApplicationError, Conflict, NotFound, UpstreamUnavailable
from ivs_scaling.models import Seat, Show, ShowEvent, Stage
from ivs_scaling.services.common import gateway, scale_up_held
from ivs_scaling.services.events import event_record
from ivs_scaling.services.scaling import scale_up_check

logger = logging.getLogger(__name__)

State = Stage.State


class NoRoom(ApplicationError):
    """No stage has a free seat right now, but one is being added: try again in a moment."""

    status_code = 503
    code = "stage_pending"


@dataclass(frozen=True)
class SeatTaken:
    """The decision: which stage a viewer sits on, and the key to leave it."""

    key: str
    show_id: int
    show_name: str
    stage_id: int
    stage_arn: str
    stage_name: str
    expires_at: datetime


@dataclass(frozen=True)
class ViewerJoined:
    seat: SeatTaken
    token: ParticipantToken


@dataclass(frozen=True)
class _Taken:
    """What the taking statement returns: the stage, and its count after this seat."""

    pk: int
    arn: str
    name: str
    viewer_count: int
    capacity: int
    empty_since: object  # not None: the stage was empty, waiting to be removed


# The decision in plain SQL, one statement that picks the stage and takes the seat: the ORM's
# query building cost more than the statements themselves (3.7 ms a join against 0.6 ms, one
# thread, SQLite; benchmarks/ivs_joins.py). ``viewer_count < capacity`` stands twice: inside,
# to pick the first stage with room in assignment order (the master sorts first, then the
# newest secondary); outside, because PostgreSQL re-checks the outer condition on a row
# another join changed while this one waited for its lock (the inner pick is not re-run), so
# a stage filled meanwhile is not taken: no row, and the caller picks again.
_TAKE = """
UPDATE {stage} SET viewer_count = viewer_count + 1
WHERE id = (
    SELECT id FROM {stage} WHERE show_id = %s AND state = %s AND viewer_count < capacity
    ORDER BY role, created_at DESC LIMIT 1
) AND state = %s AND viewer_count < capacity
RETURNING id, arn, name, viewer_count, capacity, empty_since
"""
_SEAT = (
    "INSERT INTO {seat} (show_id, stage_id, {key}, user_id, participant_id, created_at, "
    "expires_at) VALUES (%s, %s, %s, %s, '', %s, %s)"
)
_UNEMPTY = "UPDATE {stage} SET empty_since = NULL WHERE id = %s"
_ROOM = "SELECT COUNT(*) FROM {stage} WHERE show_id = %s AND state = %s AND viewer_count < capacity"
# The show around a stage that is nearly full: free seats, stages, stages being created.
_AROUND = """
SELECT COALESCE(SUM(capacity - viewer_count), 0), COUNT(*),
    COALESCE(SUM(CASE WHEN state = %s THEN 1 ELSE 0 END), 0)
FROM {stage} WHERE show_id = %s AND state IN (%s, %s)
"""


@functools.cache
def _sql(statement: str, vendor: str) -> str:
    quote = connection.ops.quote_name
    return statement.format(
        stage=quote(Stage._meta.db_table), seat=quote(Seat._meta.db_table), key=quote("key")
    )


# SQLite has one writer at a time; a thread that finds the write lock taken sleeps in its
# busy handler (1, 2, 5, 10 ms...) rather than being woken when it is free. Threads of one
# process therefore take turns on this lock first: 8 threads made 814 decisions/s through
# the busy handler (p99 132 ms) against 1,339/s for one thread. Other processes still meet
# at SQLite's lock. PostgreSQL locks only the stage's row and needs none of this.
_SQLITE_WRITER = threading.Lock()


def _writer() -> contextlib.AbstractContextManager[object]:
    return _SQLITE_WRITER if connection.vendor == "sqlite" else contextlib.nullcontext()


def _take(
    show: Show, *, user_id: str, key: str, now: datetime, expires_at: datetime
) -> _Taken | None:
    """Take a seat on the first stage with room, in one transaction; None: none has room."""
    vendor = connection.vendor
    adapt = connection.ops.adapt_datetimefield_value
    active = State.ACTIVE
    with _writer(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_sql(_TAKE, vendor), [show.pk, active, active])
        row = cursor.fetchone()
        if row is None:
            return None
        taken = _Taken(*row)
        if taken.empty_since is not None:
            cursor.execute(_sql(_UNEMPTY, vendor), [taken.pk])
        cursor.execute(
            _sql(_SEAT, vendor), [show.pk, taken.pk, key, user_id, adapt(now), adapt(expires_at)]
        )
    return taken


def _has_room(show: Show) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_sql(_ROOM, connection.vendor), [show.pk, State.ACTIVE])
        (count,) = cursor.fetchone()
    return bool(count)


def _may_scale_up(show: Show, taken: _Taken) -> bool:
    """Whether to ask the scaler. Another join's seat since the statement began may be
    missing from the counts read here (at most the joins in flight): near the trigger, by
    ``IVS_SCALE_CHECK_MARGIN``, the scaler decides from fresh counts under the show's lock."""
    near = show.headroom_trigger + int(settings.IVS_SCALE_CHECK_MARGIN)
    if taken.capacity - taken.viewer_count > near:
        return False  # this stage alone has room enough: no need to read the others
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(_AROUND, connection.vendor),
            [State.CREATING, show.pk, State.ACTIVE, State.CREATING],
        )
        free, stages, creating = cursor.fetchone()
    # A stage being created is this crossing's answer; at the most stages there is no other.
    return not creating and stages < show.max_stages and free <= near


def seat_take(*, show: Show, user_id: str, now: datetime | None = None) -> SeatTaken:
    """Give ``user_id`` a seat on a stage of ``show`` with room, atomically (the decision).

    Raises ``Conflict`` ``host_not_live`` before the broadcaster has published (unless the
    show admits viewers early), ``show_full`` when every stage the show may have is full, and
    ``NoRoom`` (503) while a new stage is being created.
    """
    if show.state != Show.State.ACTIVE:
        raise Conflict(_("This show has ended."), code="show_ended")
    if not show.doors_open:
        raise Conflict(_("The host is not live yet."), code="host_not_live")
    now = now or timezone.now()
    expires_at = now + timedelta(seconds=settings.IVS_SEAT_CONNECT_S)
    key = secrets.token_hex(16)
    for _attempt in range(8):
        taken = _take(show, user_id=user_id, key=key, now=now, expires_at=expires_at)
        if taken is not None:
            if taken.empty_since is not None:
                _removal_cancelled(show, taken.pk, taken.name)
            if _may_scale_up(show, taken):
                scale_up_check(show_id=show.pk)
            return SeatTaken(
                key=key,
                show_id=show.pk,
                show_name=show.name,
                stage_id=taken.pk,
                stage_arn=taken.arn,
                stage_name=taken.name,
                expires_at=expires_at,
            )
        if not _has_room(show):
            break  # (else another join filled the stage picked, under PostgreSQL: pick again)
    # Every stage is full (or none is active yet): full for good only at the most stages
    # the show may have, none of them still being created (read after asking the scaler: a
    # stage another join asked for counts).
    asked = scale_up_check(show_id=show.pk) is not None
    live = list(
        Stage.objects.filter(show_id=show.pk, state__in=(State.ACTIVE, State.CREATING)).values_list(
            "state", flat=True
        )
    )
    more = len(live) < show.max_stages and not scale_up_held(show_id=show.pk)
    if asked or State.CREATING in live or more:
        raise NoRoom(
            _("Every stage of this show is full; another one is being added. Try again."),
            detail={"retry_after_s": 1},
        )
    _full_event(show)
    raise Conflict(_("This show is full."), code="show_full")


def _removal_cancelled(show: Show, stage_id: int, name: str) -> None:
    event_record(
        show=show,
        stage=Stage(pk=stage_id, show_id=show.pk, name=name),
        kind="scale_down_cancelled",
        line=text(
            gettext_noop("A viewer joined %(stage)s while it was empty: it stays."), stage=name
        ),
    )


def _full_event(show: Show) -> None:
    # Once a minute at most: a full show refuses every join, the log needs the fact once.
    if cache.add(f"ivs:show-full:{show.pk}", 1, timeout=60):
        event_record(
            show=show,
            kind="show_full",
            level=ShowEvent.Level.WARNING,
            line=text(
                gettext_noop(
                    "%(show)s is full: all %(stages)s stages have %(capacity)s viewers; new "
                    "viewers are turned away."
                ),
                show=show.name,
                stages=show.max_stages,
                capacity=show.capacity,
            ),
        )


# --- freeing seats --------------------------------------------------------------------------
def stage_seats_free(*, stage_id: int, seat_ids: list[int], now: datetime | None = None) -> int:
    """Free seats of one stage; each seat is freed once, however many callers race (leave,
    expiry, reconcile): only the deleted rows are taken off the stage's count."""
    if not seat_ids:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        freed, _deleted = Seat.objects.filter(pk__in=seat_ids, stage_id=stage_id).delete()
        if freed:
            Stage.objects.filter(pk=stage_id).update(
                viewer_count=Greatest(F("viewer_count") - freed, 0)
            )
            became_empty = Stage.objects.filter(
                pk=stage_id,
                viewer_count=0,
                empty_since=None,
                role=Stage.Role.SECONDARY,
                state=State.ACTIVE,
            ).update(empty_since=now)
            if became_empty:
                stage = Stage.objects.select_related("show").get(pk=stage_id)
                event_record(
                    show=stage.show,
                    stage=stage,
                    kind="stage_empty",
                    line=text(
                        gettext_noop(
                            "%(stage)s has no viewers: it is removed in %(s)s s unless a "
                            "viewer joins."
                        ),
                        stage=stage.name,
                        s=stage.show.grace_period_s,
                    ),
                )
    return freed


def seat_release(*, key: str) -> bool:
    """Free the seat with this key; False when it is not (or no longer) taken."""
    row = Seat.objects.filter(key=key).values("pk", "stage_id").first()
    if row is None:
        return False
    return stage_seats_free(stage_id=row["stage_id"], seat_ids=[row["pk"]]) == 1


# --- the whole join -------------------------------------------------------------------------
def viewer_join(*, show: Show, user_id: str) -> ViewerJoined:
    """Seat the viewer (the decision), then ask IVS for a SUBSCRIBE token for that stage."""
    seat = seat_take(show=show, user_id=user_id)
    try:
        token = gateway().participant_token_create(
            stage_arn=seat.stage_arn,
            user_id=user_id,
            capabilities=("SUBSCRIBE",),
            duration_minutes=settings.IVS_VIEWER_TOKEN_MINUTES,
            attributes={"show": show.name, "role": "viewer"},
            max_wait_s=settings.IVS_TOKEN_MAX_WAIT_S,
        )
    except CloudError as exc:
        seat_release(key=seat.key)
        logger.warning(
            "IVS token for a viewer of %s on %s failed; seat freed: %s",
            show.name,
            seat.stage_arn,
            exc,
        )
        busy = isinstance(exc, CloudRateLimited)
        raise UpstreamUnavailable(
            _("Too many viewers are joining at once; try again in a moment.")
            if busy
            else _("IVS could not give a viewer token right now; try again in a moment."),
            code="token_unavailable",
            detail={"retry_after_s": 1 if busy else 5},
        ) from exc
    Seat.objects.filter(key=seat.key).update(participant_id=token.participant_id)
    return ViewerJoined(seat=seat, token=token)


def viewer_leave(*, key: str) -> None:
    """The viewer leaves: its seat is free for the next one."""
    if not seat_release(key=key):
        raise NotFound(_("This seat is not taken (it was freed already, or it expired)."))
