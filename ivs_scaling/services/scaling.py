"""Scaling: the scale-up decision, and the watch (the broadcaster, pending replications,
empty secondaries).

Scale up: a join that takes one of the last free seats calls ``scale_up_check``, which decides
again under the show's row lock (PostgreSQL's ``SELECT ... FOR UPDATE``; SQLite has one
writer at a time) with fresh counts, and writes the new stage's ``creating`` row and the
action that creates it in one transaction. A show has at most one ``creating`` stage (a
unique constraint), and that stage's seats count as free, so one crossing begins one stage,
never two, however many joins cross it at once.

The watch (beat, every ``IVS_WATCH_INTERVAL_S``) reads whether the broadcaster publishes
now (IVS's ``published`` only means "has published in this session": the latest publish
event decides), opens the show's doors at the first publish, starts pending replications
(and restarts the ones IVS ended while the broadcaster was away) when the broadcaster
publishes, and drains and deletes secondaries that stayed empty for the grace period.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_noop

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.text import text
from broadcastops.cloud.errors import CloudError
from broadcastops.errors import Conflict
from ivs_scaling import mirror
from ivs_scaling.models import Publisher, Show, ShowEvent, Stage
from ivs_scaling.selectors import master_stage, publisher_as_state
from ivs_scaling.services.common import gateway, scale_up_held, scaler, stage_target
from ivs_scaling.services.events import event_record
from ivs_scaling.services.replication import active_replicas, replication_mark
from ivs_scaling.services.stages import (
    replication_start_begin,
    stage_create_begin,
    stage_delete_begin,
    stage_row_new,
)

logger = logging.getLogger(__name__)

State = Stage.State
Role = Stage.Role
Replication = Stage.Replication
Level = ShowEvent.Level
WATCH_LOCK = "ivs:watch:lock"


def _may_need_stage(show_id: int) -> bool:
    """The committed counts, read without the show's lock: whether they call for a stage.

    Only then does the check take the lock and read again. The joins near the trigger all
    ask (``seats._may_scale_up``); under the lock they took turns (on SQLite, each the
    database's write lock) behind the asks that found nothing to do, and the crossing's own
    ask waited its turn: seconds in a burst on a busy machine. Skipping here misses no
    crossing: a join asks after its seat is committed, so the join whose seat crosses, or
    a later one, reads counts that include it.
    """
    row = (
        Show.objects.filter(pk=show_id, state=Show.State.ACTIVE)
        .annotate(
            free=Coalesce(
                Sum(
                    F("stages__capacity") - F("stages__viewer_count"),
                    filter=Q(stages__state__in=(State.ACTIVE, State.CREATING)),
                ),
                0,
            ),
            live=Count("stages", filter=Q(stages__state__in=(State.ACTIVE, State.CREATING))),
            creating=Count("stages", filter=Q(stages__state=State.CREATING)),
        )
        .values_list("free", "live", "creating", "capacity", "scale_up_threshold", "max_stages")
        .first()
    )
    if row is None:
        return False
    free, live, creating, capacity, threshold, max_stages = row
    return not creating and live < max_stages and free <= capacity - threshold


def scale_up_check(*, show_id: int) -> Stage | None:
    """Begin one new stage if the show's free seats fell to the trigger; the new stage's row
    (``creating``), or None when no stage is needed (or one is already being created)."""
    if scale_up_held(show_id=show_id) or not _may_need_stage(show_id):
        return None
    try:
        with transaction.atomic():
            show = Show.objects.select_for_update().get(pk=show_id)
            if show.state != Show.State.ACTIVE:
                return None
            stages = list(Stage.objects.filter(show=show, state__in=(State.ACTIVE, State.CREATING)))
            if any(s.state == State.CREATING for s in stages) or len(stages) >= show.max_stages:
                return None
            free = sum(s.capacity - s.viewer_count for s in stages)
            if free > show.headroom_trigger:
                return None
            viewers = sum(s.viewer_count for s in stages)
            stage = stage_row_new(show=show, role=Role.SECONDARY)
            action = stage_create_begin(
                stage=stage, actor=scaler(show), reason=f"{viewers} viewers, {free} seats free"
            )
            event_record(
                show=show,
                stage=stage,
                kind="scale_up",
                line=text(
                    gettext_noop(
                        "Scale up: %(viewers)s viewers on %(stages)s stages, %(free)s seats "
                        "free (threshold %(threshold)s of %(capacity)s); creating %(stage)s."
                    ),
                    viewers=viewers,
                    stages=len(stages),
                    free=free,
                    threshold=show.scale_up_threshold,
                    capacity=show.capacity,
                    stage=stage.name,
                ),
                action_id=action.pk,
            )
            return stage
    except IntegrityError:
        return None  # another join wrote the creating row first: that is this crossing's stage


# --- the watch ----------------------------------------------------------------------------
def show_watch_all(*, now: datetime | None = None) -> int:
    """One watch tick over every show that is on; skipped while the previous one runs."""
    if not cache.add(WATCH_LOCK, 1, timeout=max(30, int(settings.IVS_WATCH_INTERVAL_S * 10))):
        logger.info("IVS watch: the previous tick still runs; skipped")
        return 0
    try:
        shows = list(Show.objects.filter(state=Show.State.ACTIVE))
        for show in shows:
            try:
                show_watch(show=show, now=now)
            except CloudError as exc:
                logger.warning("IVS watch of %s: %s", show.name, exc)
        return len(shows)
    finally:
        cache.delete(WATCH_LOCK)


def show_watch(*, show: Show, now: datetime | None = None) -> None:
    publisher_check(show=show)
    scale_down_check(show=show, now=now)
    scale_up_check(show_id=show.pk)


def _publishing_now(publisher: Publisher) -> bool:
    gw = gateway()
    session_id = gw.stage_get(stage_arn=publisher.stage.arn).active_session_id
    if not session_id:
        return False
    return gw.participant_is_publishing(
        stage_arn=publisher.stage.arn,
        session_id=session_id,
        participant_id=publisher.participant_id,
    )


def publisher_check(*, show: Show) -> bool | None:
    """Read whether the broadcaster publishes now and act on a change; None: no broadcaster."""
    publisher = Publisher.objects.select_related("stage", "show").filter(show=show).first()
    if publisher is None or not publisher.stage.arn:
        return None
    publishing = _publishing_now(publisher)
    now = timezone.now()
    changed = Publisher.objects.filter(pk=publisher.pk, publishing=not publishing).update(
        publishing=publishing, publishing_changed_at=now, checked_at=now
    )
    if not changed:
        Publisher.objects.filter(pk=publisher.pk).update(checked_at=now)
    publisher.publishing = publishing
    if changed:
        _publisher_changed(show, publisher)
    if publishing:
        replications_resume(show=show, publisher=publisher, verify=bool(changed))
    show.refresh_from_db(fields=["doors_opened_at"])
    publisher.show = show  # the doors may have opened just now
    mirror.mirror_write(show.pk, publisher_as_state(publisher))
    return publishing


def _publisher_changed(show: Show, publisher: Publisher) -> None:
    if publisher.publishing:
        event_record(
            show=show,
            stage=publisher.stage,
            kind="publisher_publishing",
            line=text(
                gettext_noop("The broadcaster %(user)s (%(participant)s) is publishing."),
                user=publisher.user_id,
                participant=publisher.participant_id,
            ),
        )
        if Show.objects.filter(pk=show.pk, doors_opened_at=None).update(
            doors_opened_at=timezone.now()
        ):
            event_record(
                show=show,
                kind="doors_opened",
                line=text(
                    gettext_noop("The doors are open: viewers may join %(show)s."), show=show.name
                ),
            )
        return
    event_record(
        show=show,
        stage=publisher.stage,
        kind="publisher_stopped",
        level=Level.WARNING,
        line=text(
            gettext_noop(
                "The broadcaster %(user)s stopped publishing. The replicas last %(s)s s "
                "(the reconnect window); viewers stay on their stages."
            ),
            user=publisher.user_id,
            s=show.reconnect_window_s,
        ),
    )


def replications_resume(*, show: Show, publisher: Publisher, verify: bool) -> list[int]:
    """The broadcaster publishes: start every pending replication, and (``verify``: it was
    away) restart the ones IVS ended meanwhile. Returns the actions begun."""
    secondaries = list(
        Stage.objects.filter(show=show, role=Role.SECONDARY, state=State.ACTIVE).select_related(
            "show"
        )
    )
    if not secondaries:
        return []
    if verify:
        master = master_stage(show=show)
        live = active_replicas(
            gateway(),
            master_arn=master.arn if master else "",
            participant_id=publisher.participant_id,
        )
        for stage in secondaries:
            if stage.replication_state == Replication.ACTIVE and stage.arn not in live:
                replication_mark(
                    stage,
                    state=Replication.PENDING,
                    note="ended while the broadcaster was away",
                    kind="replication_ended",
                    level=Level.WARNING,
                    line=text(
                        gettext_noop(
                            "IVS ended the replication into %(stage)s (the broadcaster was away "
                            "longer than %(s)s s); starting it again."
                        ),
                        stage=stage.name,
                        s=show.reconnect_window_s,
                    ),
                )
    retry_before = timezone.now() - timedelta(seconds=settings.IVS_REPLICATION_RETRY_S)
    begun = []
    for stage in secondaries:
        if stage.replication_state not in (Replication.PENDING, Replication.FAILED):
            continue
        recent = stage.replication_changed_at and stage.replication_changed_at > retry_before
        if recent and not verify and stage.replication_state == Replication.PENDING:
            continue  # tried a moment ago; the next tick tries again
        if stage.replication_state == Replication.FAILED and not verify:
            continue  # the quota: only a new publish (or an operator) tries again
        try:
            begun.append(replication_start_begin(stage=stage, actor=scaler(show)).pk)
        except Conflict:
            continue  # another action holds the stage (its create is still replicating)
    return begun


def empty_stage_drain_claim(*, stage_id: int, cutoff: datetime) -> bool:
    """Take a secondary empty since ``cutoff`` out of the assignment (``draining``), only if
    it is still empty: a join's conditional update and this one settle on the same row, so
    either the viewer sits there (and the stage stays) or the stage drains with nobody on it.
    """
    return (
        Stage.objects.filter(
            pk=stage_id,
            role=Role.SECONDARY,
            state=State.ACTIVE,
            viewer_count=0,
            empty_since__lte=cutoff,
        ).update(state=State.DRAINING)
        == 1
    )


def scale_down_check(*, show: Show, now: datetime | None = None) -> list[int]:
    """Drain and delete the secondaries that stayed empty for the grace period, and the
    drained ones whose last viewer has left. A viewer arriving meanwhile clears
    ``empty_since``, so the conditional drain below finds nothing: the removal is cancelled.
    An empty stage whose seats the show needs to stay above the scale-up trigger is kept (it
    would be created again at once)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=show.grace_period_s)
    live = list(Stage.objects.filter(show=show, state__in=(State.ACTIVE, State.CREATING)))
    free = sum(s.capacity - s.viewer_count for s in live)
    due = [
        s
        for s in live
        if s.role == Role.SECONDARY
        and s.state == State.ACTIVE
        and s.viewer_count == 0
        and s.empty_since is not None
        and s.empty_since <= cutoff
    ]
    for stage in sorted(due, key=lambda s: s.created_at):
        if free - stage.capacity <= show.headroom_trigger:
            # Without it the free seats would be at the scale-up trigger: it would be created
            # again at once. It stays, empty, as the show's headroom.
            continue
        if empty_stage_drain_claim(stage_id=stage.pk, cutoff=cutoff):
            event_record(
                show=show,
                stage=stage,
                kind="scale_down",
                line=text(
                    gettext_noop("Scale down: %(stage)s has been empty for %(s)s s; removing it."),
                    stage=stage.name,
                    s=show.grace_period_s,
                ),
            )
            free -= stage.capacity
    begun = []
    running = set(
        OperatorAction.objects.filter(
            status=OperatorAction.Status.RUNNING, target_type="ivs_stage"
        ).values_list("target_id", flat=True)
    )
    drained = Stage.objects.filter(
        show=show, role=Role.SECONDARY, state=State.DRAINING, viewer_count=0
    ).select_related("show")
    for stage in drained:
        if stage_target(stage).id in running:
            continue
        try:
            begun.append(stage_delete_begin(stage=stage, actor=scaler(show)).pk)
        except Conflict:
            continue
    return begun
