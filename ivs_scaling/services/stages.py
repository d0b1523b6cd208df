"""Stage actions through the core's action engine: create, replicate, stop, drain, delete.

Each *begin* claims the stage (one running action per stage, the audit row) and enqueues the
runner on commit; each *runner* decides from IVS's state and its checkpoint, so a worker that
takes an action over never creates, starts or deletes twice:

* create: the row exists before the call (state ``creating``, a create id sent as a tag);
  CreateStage is sent once (the gateway never retries it), again only after a throttle (it
  was not executed) or when a lookup by the tag finds nothing; a worker taking over looks
  the tag up first and adopts what it finds;
* replication: ``ListParticipantReplicas`` first (``replication.py``);
* delete: replicas into the stage are stopped first (what DeleteStage does to them is
  undocumented), a stage already gone counts as deleted.

The runners are registered for their kinds in ``IvsScalingConfig.ready()``.
"""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.runs import ActionRun
from broadcastops.actions.services import action_begin
from broadcastops.actions.text import plain, text
from broadcastops.actions.types import ActionFailed, Actor, Outcome
from broadcastops.cloud.errors import (
    CloudNotFound,
    CloudQuotaExceeded,
    CloudRateLimited,
    CloudTransientError,
)
from broadcastops.cloud.ivs import IvsGateway
from broadcastops.cloud.ivs import Stage as CloudStage
from ivs_scaling.models import Seat, Show, ShowEvent, Stage
from ivs_scaling.services.common import (
    CREATE,
    DELETE,
    DRAIN,
    ORPHAN_DELETE,
    REPLICATION_START,
    REPLICATION_STOP,
    ROLE_TAG,
    SHOW_TAG,
    gateway,
    label,
    scale_up_hold,
    scaler,
    stage_target,
)
from ivs_scaling.services.events import event_record
from ivs_scaling.services.replication import replication_end, replication_ensure

logger = logging.getLogger(__name__)

State = Stage.State
Role = Stage.Role
Replication = Stage.Replication
Level = ShowEvent.Level


def stage_row_new(*, show: Show, role: str, name: str = "") -> Stage:
    """The row of a stage about to be created (inside the caller's transaction)."""
    if not name:
        if role == Role.MASTER:
            name = f"{show.name}-master"
        else:
            name = f"{show.name}-{Stage.objects.filter(show=show).count() + 1}"
    return Stage.objects.create(
        show=show,
        role=role,
        state=State.CREATING,
        name=name[:128],
        create_id=uuid.uuid4().hex,
        capacity=show.capacity,
        replication_state=Replication.NONE if role == Role.MASTER else Replication.PENDING,
    )


# --- begin ----------------------------------------------------------------------------------
def stage_create_begin(*, stage: Stage, actor: Actor, reason: str = "") -> OperatorAction:
    """Create ``stage`` (a ``creating`` row) in a worker, then replicate into it."""
    return action_begin(
        kind=CREATE, target=stage_target(stage), actor=actor, params={"reason": reason}
    )


def replication_start_begin(*, stage: Stage, actor: Actor) -> OperatorAction:
    return action_begin(kind=REPLICATION_START, target=stage_target(stage), actor=actor)


def replication_stop_begin(*, stage: Stage, actor: Actor) -> OperatorAction:
    return action_begin(kind=REPLICATION_STOP, target=stage_target(stage), actor=actor)


def stage_delete_begin(*, stage: Stage, actor: Actor) -> OperatorAction:
    return action_begin(kind=DELETE, target=stage_target(stage), actor=actor)


def stage_drain_begin(*, stage: Stage, actor: Actor) -> OperatorAction:
    """Stop admitting viewers to a secondary; it is deleted once its last viewer leaves."""
    return action_begin(kind=DRAIN, target=stage_target(stage), actor=actor)


# --- the create ----------------------------------------------------------------------------
def _tags(stage: Stage) -> dict[str, str]:
    return {SHOW_TAG: stage.show.name, ROLE_TAG: stage.role}


def _create_once(run: ActionRun, gw: IvsGateway, stage: Stage) -> CloudStage:
    """CreateStage, sent again only when it certainly did not happen: after a throttle, or
    after a failure the tag lookup proves left nothing."""
    attempts = settings.IVS_CREATE_THROTTLE_RETRIES + 1
    for attempt in range(attempts):
        try:
            return gw.stage_create(name=stage.name, tags=_tags(stage), create_id=stage.create_id)
        except CloudRateLimited as exc:
            error: CloudTransientError = exc
        except CloudTransientError as exc:
            # A timeout or a 5xx may hide a create that went through: look before resending.
            found = gw.stage_find(create_id=stage.create_id)
            if found:
                return found[0]
            error = exc
        if attempt + 1 >= attempts:
            raise error
        backoff = settings.IVS_CREATE_BACKOFF_S * 2**attempt
        run.progress(
            text(
                gettext_noop("CreateStage failed (%(code)s); trying again in %(s)s s."),
                code=error.code or error.__class__.__name__,
                s=backoff,
            )
        )
        time.sleep(backoff)
    raise AssertionError("unreachable")  # the loop returns or raises


def _stage_load(run: ActionRun) -> Stage:
    stage = Stage.objects.select_related("show").filter(create_id=run.action.target_id).first()
    if stage is None:
        raise ActionFailed(
            text(gettext_noop("Stage %(id)s is not in the database."), id=run.action.target_id),
            code="not_found",
        )
    return stage


def stage_create_step(run: ActionRun, stage: Stage) -> Stage:
    """Make the ``creating`` row a stage on IVS: adopt the one its tag finds, else create it.
    Idempotent: a row with its ARN is left as it is."""
    if stage.arn or stage.state != State.CREATING:
        return stage
    gw = gateway()
    found: list[CloudStage] = []
    if run.taken_over or run.state.get("create_sent"):
        found = gw.stage_find(create_id=stage.create_id)
    if found:
        cloud = found[0]
        run.progress(
            text(
                gettext_noop("Found %(arn)s by its create id: adopted, not created again."),
                arn=cloud.arn,
            )
        )
    else:
        run.checkpoint(create_sent=True)  # from here on, a new worker looks before creating
        try:
            cloud = _create_once(run, gw, stage)
        except CloudQuotaExceeded as exc:
            scale_up_hold(show_id=stage.show_id)
            with transaction.atomic():
                Stage.objects.filter(pk=stage.pk, state=State.CREATING).update(
                    state=State.DELETED, deleted_at=timezone.now()
                )
                event_record(
                    show=stage.show,
                    stage=stage,
                    kind="stage_quota",
                    level=Level.ERROR,
                    line=text(
                        gettext_noop("IVS refused a new stage for %(show)s: %(message)s"),
                        show=stage.show.name,
                        message=plain(exc.message),
                    ),
                    action_id=run.action.pk,
                )
            raise
    now = timezone.now()
    with transaction.atomic():
        Stage.objects.filter(pk=stage.pk, state=State.CREATING).update(
            arn=cloud.arn, state=State.ACTIVE, activated_at=now
        )
        event_record(
            show=stage.show,
            stage=stage,
            kind="stage_created",
            line=text(
                gettext_noop("Stage %(stage)s (%(role)s) created: %(arn)s."),
                stage=stage.name,
                role=label(stage.role),
                arn=cloud.arn,
            ),
            action_id=run.action.pk,
        )
    stage.refresh_from_db()
    run.progress(
        text(gettext_noop("%(stage)s is active: %(arn)s."), stage=stage.name, arn=cloud.arn)
    )
    return stage


def stage_create_run(run: ActionRun) -> Outcome:
    stage = stage_create_step(run, _stage_load(run))
    if stage.state == State.DELETED:
        return Outcome(
            ok=True,
            text=text(gettext_noop("%(stage)s was removed; nothing to create."), stage=stage.name),
            code="deleted",
        )
    if stage.show.state != Show.State.ACTIVE and stage.role == Role.SECONDARY:
        # The show ended while the stage was being created: it goes again at once.
        return stage_delete_step(run, stage)
    if stage.role == Role.SECONDARY and stage.replication_state != Replication.STOPPED:
        result = replication_ensure(stage=stage, run=run)
        return Outcome(
            ok=True,
            text=text(
                gettext_noop("%(stage)s is active; replication: %(state)s."),
                stage=stage.name,
                state=label(result.state),
            ),
            result={"arn": stage.arn, "replication": result.state},
        )
    return Outcome(
        ok=True,
        text=text(gettext_noop("%(stage)s is active."), stage=stage.name),
        result={"arn": stage.arn},
    )


# --- replication -----------------------------------------------------------------------------
def replication_start_run(run: ActionRun) -> Outcome:
    stage = _stage_load(run)
    if stage.state not in (State.ACTIVE, State.DRAINING) or stage.role != Role.SECONDARY:
        return Outcome(
            ok=True,
            text=text(
                gettext_noop("%(stage)s is %(state)s: no replication to start."),
                stage=stage.name,
                state=label(stage.state),
            ),
            code="skipped",
        )
    result = replication_ensure(
        stage=stage, participant_id=run.params.get("participant_id", ""), run=run
    )
    return Outcome(
        ok=result.state != Replication.FAILED,
        text=text(
            gettext_noop("Replication into %(stage)s: %(state)s."),
            stage=stage.name,
            state=label(result.state),
        ),
        code="" if result.started else result.state,
        result={"replication": result.state, "message": result.message},
    )


def replication_stop_run(run: ActionRun) -> Outcome:
    stage = _stage_load(run)
    replication_end(stage=stage, participant_id=run.params.get("participant_id", ""), run=run)
    return Outcome(
        ok=True,
        text=text(gettext_noop("Replication into %(stage)s is stopped."), stage=stage.name),
        result={"replication": Replication.STOPPED},
    )


# --- drain and delete -------------------------------------------------------------------------
def seats_clear(stage: Stage) -> int:
    """Free every seat of a stage that is going away (its viewers are disconnected by IVS)."""
    with transaction.atomic():
        freed, _ = Seat.objects.filter(stage=stage).delete()
        Stage.objects.filter(pk=stage.pk).update(viewer_count=0)
    return freed


def stage_delete_step(run: ActionRun, stage: Stage) -> Outcome:
    if stage.role == Role.MASTER and stage.show.state == Show.State.ACTIVE:
        raise ActionFailed(
            text(gettext_noop("%(stage)s is the master of a show that is on."), stage=stage.name),
            code="master",
        )
    if stage.state == State.DELETED:
        return Outcome(
            ok=True,
            text=text(gettext_noop("%(stage)s is already deleted."), stage=stage.name),
            code="deleted",
        )
    Stage.objects.filter(pk=stage.pk, state=State.ACTIVE).update(state=State.DRAINING)
    if stage.arn:
        # Replicas first: what DeleteStage does to a replication into it is undocumented.
        replication_end(stage=stage, run=run)
        try:
            gateway().stage_delete(stage_arn=stage.arn)
        except CloudNotFound:
            run.progress(text(gettext_noop("%(arn)s was already gone on IVS."), arn=stage.arn))
    freed = seats_clear(stage)
    with transaction.atomic():
        Stage.objects.filter(pk=stage.pk).exclude(state=State.DELETED).update(
            state=State.DELETED, deleted_at=timezone.now(), empty_since=None
        )
        event_record(
            show=stage.show,
            stage=stage,
            kind="stage_deleted",
            line=text(
                gettext_noop("Stage %(stage)s deleted (%(freed)s seats freed)."),
                stage=stage.name,
                freed=freed,
            ),
            action_id=run.action.pk,
        )
    return Outcome(
        ok=True,
        text=text(gettext_noop("%(stage)s is deleted."), stage=stage.name),
        result={"arn": stage.arn, "seats_freed": freed},
    )


def stage_delete_run(run: ActionRun) -> Outcome:
    return stage_delete_step(run, _stage_load(run))


def stage_drain_run(run: ActionRun) -> Outcome:
    stage = _stage_load(run)
    if stage.role == Role.MASTER:
        raise ActionFailed(
            text(gettext_noop("%(stage)s is the master: it cannot be drained."), stage=stage.name),
            code="master",
        )
    if Stage.objects.filter(pk=stage.pk, state=State.ACTIVE).update(state=State.DRAINING):
        event_record(
            show=stage.show,
            stage=stage,
            kind="stage_draining",
            line=text(
                gettext_noop(
                    "Stage %(stage)s is draining (by %(who)s): no new viewers; it is deleted "
                    "when its %(n)s viewers have left."
                ),
                stage=stage.name,
                who=run.action.actor_name,
                n=stage.viewer_count,
            ),
            action_id=run.action.pk,
        )
    stage.refresh_from_db()
    if stage.viewer_count == 0 and stage.state == State.DRAINING:
        return stage_delete_step(run, stage)
    return Outcome(
        ok=True,
        text=text(
            gettext_noop("%(stage)s is draining; %(n)s viewers left."),
            stage=stage.name,
            n=stage.viewer_count,
        ),
        result={"state": stage.state, "viewers": stage.viewer_count},
    )


def orphan_delete_begin(*, show: Show, arn: str, reason: str) -> OperatorAction:
    """Delete a stage IVS has and the console does not keep (a duplicate create)."""
    from broadcastops.actions.types import Target

    stage_id = arn.rsplit("/", 1)[-1]
    return action_begin(
        kind=ORPHAN_DELETE,
        target=Target(type="ivs_orphan", id=stage_id[:64], name=arn),
        actor=scaler(show),
        params={"arn": arn, "show_id": show.pk, "reason": reason},
    )


def orphan_delete_run(run: ActionRun) -> Outcome:
    arn = run.params["arn"]
    try:
        gateway().stage_delete(stage_arn=arn)
    except CloudNotFound:
        run.progress(text(gettext_noop("%(arn)s was already gone on IVS."), arn=arn))
    event_record(
        show=int(run.params["show_id"]),
        kind="drift_orphan_deleted",
        level=Level.WARNING,
        line=text(
            gettext_noop("Stage %(arn)s deleted: %(reason)s"),
            arn=arn,
            reason=plain(run.params.get("reason", "")),
        ),
        action_id=run.action.pk,
    )
    return Outcome(ok=True, text=text(gettext_noop("%(arn)s is deleted."), arn=arn))


RUNNERS = {
    CREATE: stage_create_run,
    REPLICATION_START: replication_start_run,
    REPLICATION_STOP: replication_stop_run,
    DELETE: stage_delete_run,
    DRAIN: stage_drain_run,
    ORPHAN_DELETE: orphan_delete_run,
}
