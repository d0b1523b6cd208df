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

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
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

    seat_id: int
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
class _Candidate:
    pk: int
    state: str
    capacity: int
    viewer_count: int
    arn: str
    name: str
    empty_since: datetime | None

    @property
    def has_room(self) -> bool:
        return self.state == State.ACTIVE and self.viewer_count < self.capacity


def _candidates(show: Show) -> list[_Candidate]:
    # One read of the show's stages, in assignment order (the master sorts first).
    rows = (
        Stage.objects.filter(show_id=show.pk, state__in=(State.ACTIVE, State.CREATING))
        .order_by("role", "-created_at")
        .values_list("pk", "state", "capacity", "viewer_count", "arn", "name", "empty_since")
    )
    return [_Candidate(*row) for row in rows]


def _free_after(stages: list[_Candidate], taken: int) -> int:
    # Seats left on the stages that take viewers or soon will (a stage being created counts
    # with its whole capacity: it is the answer to this crossing already).
    return sum(s.capacity - s.viewer_count for s in stages) - taken


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
    for _round in range(2):
        stages = _candidates(show)
        for stage in stages:
            if not stage.has_room:
                continue
            key = secrets.token_hex(16)
            try:
                with transaction.atomic():
                    seat = Seat.objects.create(
                        show_id=show.pk,
                        stage_id=stage.pk,
                        key=key,
                        user_id=user_id,
                        created_at=now,
                        expires_at=expires_at,
                    )
                    # The decision: the one statement that keeps every stage within capacity.
                    taken = Stage.objects.filter(
                        pk=stage.pk, state=State.ACTIVE, viewer_count__lt=F("capacity")
                    ).update(viewer_count=F("viewer_count") + 1, empty_since=None)
                    if taken != 1:
                        raise _Lost
            except _Lost:
                continue  # filled (or drained) since the read: the next stage
            except IntegrityError:
                continue  # a constraint refused it (a stage changing state): the next stage
            if stage.empty_since is not None:
                _removal_cancelled(show, stage.pk, stage.name)
            # The snapshot may miss joins that committed since it was read (at most the
            # joins in flight): near the trigger, the scaler decides from fresh counts.
            margin = settings.IVS_SCALE_CHECK_MARGIN
            if _free_after(stages, 1) <= show.headroom_trigger + margin:
                scale_up_check(show_id=show.pk)
            return SeatTaken(
                seat_id=seat.pk,
                key=key,
                show_id=show.pk,
                show_name=show.name,
                stage_id=stage.pk,
                stage_arn=stage.arn,
                stage_name=stage.name,
                expires_at=expires_at,
            )
    # Every stage is full (or none is active yet): full for good only at the most stages
    # the show may have, none of them still being created (read again: the snapshot above
    # may predate the stage another join just asked for).
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


class _Lost(Exception):
    """The conditional update found the stage full: roll the seat back."""


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
    Seat.objects.filter(pk=seat.seat_id).update(participant_id=token.participant_id)
    return ViewerJoined(seat=seat, token=token)


def viewer_leave(*, key: str) -> None:
    """The viewer leaves: its seat is free for the next one."""
    if not seat_release(key=key):
        raise NotFound(_("This seat is not taken (it was freed already, or it expired)."))
