"""Shows: create (with its master stage), the broadcaster's token, ending, and the existing
frontend's manual calls (create a stage, start or stop a replication) answered at once.

The manual calls answer with IVS's outcome in the same request (the existing frontend reads
``{"success", "message"}``), so they hold their action for one synchronous step, as the
engine allows for a first step (``action_held(begin=True)``): the audit row, the one-action-
per-stage claim and the progress are the same as for a worker's run; no cloud call runs
inside a database transaction.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.runs import ActionRun, action_held
from broadcastops.actions.services import (
    action_begin,
    action_claim,
    action_enqueue,
    cloud_error_as_application_error,
    cloud_error_code,
    cloud_error_text,
)
from broadcastops.actions.text import Text, plain, text
from broadcastops.actions.types import Actor, Outcome
from broadcastops.cloud.errors import CloudError
from broadcastops.cloud.ivs import ParticipantToken
from broadcastops.errors import Conflict, ValidationFailed
from ivs_scaling import mirror
from ivs_scaling.models import SHOW_NAME_RE, Publisher, Show, Stage
from ivs_scaling.selectors import master_stage, publisher_as_state
from ivs_scaling.services.common import (
    CREATE,
    REPLICATION_START,
    REPLICATION_STOP,
    SHOW_END,
    gateway,
    show_target,
    stage_target,
)
from ivs_scaling.services.events import event_record
from ivs_scaling.services.replication import (
    ReplicationResult,
    replication_end,
    replication_ensure,
)
from ivs_scaling.services.stages import (
    stage_create_begin,
    stage_create_step,
    stage_delete_step,
    stage_row_new,
)

logger = logging.getLogger(__name__)

State = Stage.State
Role = Stage.Role
Replication = Stage.Replication
STAGE_NAME_RE = r"^[a-zA-Z0-9_-]{1,128}$"


@dataclass(frozen=True)
class ShowSpec:
    """What a new show is made of (the API's and the admin's fields)."""

    name: str
    capacity: int = 50
    scale_up_threshold: int = 45
    grace_period_s: int = 60
    max_stages: int = 6
    reconnect_window_s: int = 30
    admit_early: bool = False


def show_spec_check(spec: ShowSpec) -> None:
    """The rules of a show, as one 400 naming each wrong field."""
    problems: dict[str, str] = {}
    if not re.fullmatch(SHOW_NAME_RE, spec.name or ""):
        problems["name"] = _("Letters, digits, - and _ only (it names the IVS stages), at most 48.")
    if not 1 <= spec.capacity <= 10000:
        problems["capacity"] = _("Between 1 and 10,000 viewers per stage.")
    if not 1 <= spec.scale_up_threshold <= spec.capacity:
        problems["scaleUpThreshold"] = _("Between 1 and the capacity.")
    if not 0 <= spec.grace_period_s <= 86400:
        problems["gracePeriodSeconds"] = _("Between 0 and 86,400 seconds.")
    if not 1 <= spec.max_stages <= 6:
        problems["maxStages"] = _("Between 1 and 6 (the master and at most 5 replicas).")
    if not 0 <= spec.reconnect_window_s <= 300:
        problems["reconnectWindowSeconds"] = _("Between 0 and 300 seconds.")
    if problems:
        raise ValidationFailed(
            _("The show is not valid; see detail for each field."), detail=problems
        )


def show_create(*, spec: ShowSpec, actor: Actor) -> tuple[Show, OperatorAction]:
    """Create a show and begin the creation of its master stage."""
    show_spec_check(spec)
    try:
        with transaction.atomic():
            show = Show.objects.create(
                name=spec.name,
                capacity=spec.capacity,
                scale_up_threshold=spec.scale_up_threshold,
                grace_period_s=spec.grace_period_s,
                max_stages=spec.max_stages,
                reconnect_window_s=spec.reconnect_window_s,
                admit_early=spec.admit_early,
            )
            master = stage_row_new(show=show, role=Role.MASTER)
            action = stage_create_begin(stage=master, actor=actor, reason="show created")
            event_record(
                show=show,
                stage=master,
                kind="show_created",
                line=text(
                    gettext_noop(
                        "%(show)s created by %(who)s: %(capacity)s viewers per stage, scale up "
                        "at %(threshold)s, at most %(stages)s stages; creating the master stage."
                    ),
                    show=show.name,
                    who=actor.name,
                    capacity=show.capacity,
                    threshold=show.scale_up_threshold,
                    stages=show.max_stages,
                ),
                action_id=action.pk,
            )
    except IntegrityError as exc:
        raise Conflict(
            _("A show named %(name)s exists already.") % {"name": spec.name},
            code="show_exists",
        ) from exc
    return show, action


SETTINGS = {
    "scale_up_threshold": "scaleUpThreshold",
    "grace_period_s": "gracePeriodSeconds",
    "max_stages": "maxStages",
    "reconnect_window_s": "reconnectWindowSeconds",
    "admit_early": "admitEarly",
}


def show_settings_update(*, show: Show, spec: ShowSpec, actor: Actor) -> list[str]:
    """Change the rule of a show that is on (its name and capacity stay); returns what
    changed. The next join, watch tick or replication uses the new values."""
    current = Show.objects.get(pk=show.pk)
    show_spec_check(
        ShowSpec(
            **{**spec.__dict__, "name": current.name, "capacity": current.capacity},
        )
    )
    changes = {
        field: getattr(spec, field)
        for field in SETTINGS
        if getattr(spec, field) != getattr(current, field)
    }
    if not changes:
        return []
    with transaction.atomic():
        Show.objects.filter(pk=show.pk).update(**changes)
        event_record(
            show=show,
            kind="show_settings",
            line=text(
                gettext_noop("Settings of %(show)s changed by %(who)s: %(changes)s."),
                show=current.name,
                who=actor.name,
                changes=", ".join(f"{SETTINGS[k]}={v}" for k, v in changes.items()),
            ),
        )
    show.refresh_from_db()
    return list(changes)


def show_end(*, show: Show, actor: Actor) -> OperatorAction:
    """End the show: stop every replica, delete every secondary (in a worker)."""
    with transaction.atomic():
        if not Show.objects.filter(pk=show.pk, state=Show.State.ACTIVE).update(
            state=Show.State.ENDING
        ):
            raise Conflict(_("%(show)s is not on.") % {"show": show.name}, code="show_not_on")
        Stage.objects.filter(show=show, role=Role.SECONDARY, state=State.ACTIVE).update(
            state=State.DRAINING
        )
        action = action_begin(kind=SHOW_END, target=show_target(show), actor=actor)
        event_record(
            show=show,
            kind="show_ending",
            line=text(
                gettext_noop("%(show)s is ending (by %(who)s): removing its secondaries."),
                show=show.name,
                who=actor.name,
            ),
            action_id=action.pk,
        )
    show.refresh_from_db()
    return action


def show_end_run(run: ActionRun) -> Outcome:
    show = Show.objects.get(name=run.action.target_id)
    left = 0
    for stage in (
        Stage.objects.filter(show=show, role=Role.SECONDARY)
        .exclude(state=State.DELETED)
        .select_related("show")
    ):
        if stage.state == State.CREATING:
            left += 1  # its create deletes it as soon as it exists (the show is not on)
            continue
        stage_delete_step(run, stage)
    if left:
        return Outcome(
            ok=True,
            text=text(
                gettext_noop(
                    "%(show)s: secondaries deleted; %(n)s still being created are deleted "
                    "once they exist."
                ),
                show=show.name,
                n=left,
            ),
        )
    if Show.objects.filter(pk=show.pk, state=Show.State.ENDING).update(
        state=Show.State.ENDED, ended_at=timezone.now()
    ):
        event_record(
            show=show,
            kind="show_ended",
            line=text(
                gettext_noop("%(show)s has ended: every secondary is deleted."), show=show.name
            ),
            action_id=run.action.pk,
        )
    return Outcome(ok=True, text=text(gettext_noop("%(show)s has ended."), show=show.name))


# --- the broadcaster -----------------------------------------------------------------------------
def publisher_token_create(*, show: Show, user_id: str, actor: Actor) -> ParticipantToken:
    """A PUBLISH token for the master stage; the broadcaster it makes is recorded (a new
    token is a new participant id: replication follows it once it publishes)."""
    if show.state != Show.State.ACTIVE:
        raise Conflict(_("This show has ended."), code="show_ended")
    master = master_stage(show=show)
    if master is None or master.state != State.ACTIVE:
        raise Conflict(
            _("The master stage of %(show)s is still being created; try again in a moment.")
            % {"show": show.name},
            code="stage_pending",
        )
    try:
        token = gateway().participant_token_create(
            stage_arn=master.arn,
            user_id=user_id,
            capabilities=("PUBLISH", "SUBSCRIBE"),
            duration_minutes=settings.IVS_PUBLISHER_TOKEN_MINUTES,
            attributes={"show": show.name, "role": "broadcaster"},
        )
    except CloudError as exc:
        raise cloud_error_as_application_error(exc, master.name) from exc
    now = timezone.now()
    with transaction.atomic():
        publisher, _created = Publisher.objects.update_or_create(
            show=show,
            defaults={
                "stage": master,
                "participant_id": token.participant_id,
                "user_id": user_id,
                "publishing": False,
                "publishing_changed_at": now,
                "token_issued_at": now,
            },
        )
        event_record(
            show=show,
            stage=master,
            kind="publisher_token",
            line=text(
                gettext_noop(
                    "Publish token for %(user)s (participant %(participant)s) on %(stage)s, "
                    "given to %(who)s."
                ),
                user=user_id,
                participant=token.participant_id,
                stage=master.name,
                who=actor.name,
            ),
        )
        state = publisher_as_state(publisher)
        transaction.on_commit(lambda: mirror.mirror_write(show.pk, state))
    return token


# --- the existing frontend's manual calls -------------------------------------------------------
def _run_now(
    *, kind: str, stage: Stage, actor: Actor, params: dict[str, object], step: object
) -> tuple[OperatorAction, object]:
    """Claim the stage, do ``step(run)`` in this request, finish the action with its outcome.
    A step may leave the action running to hand it to a worker (it returns ``None``)."""
    action = action_claim(kind=kind, target=stage_target(stage), actor=actor, params=params)
    result: object = None
    with action_held(action.pk, begin=True) as run:
        assert run is not None  # just claimed
        try:
            result = step(run)  # type: ignore[operator]
        except CloudError as exc:
            run.fail(cloud_error_text(exc, stage.name), code=cloud_error_code(exc))
            raise cloud_error_as_application_error(exc, stage.name) from exc
        except Exception as exc:
            run.fail(text(gettext_noop("Failed: %(error)s"), error=plain(str(exc))))
            raise
        begun = run.action
    if not begun.finished_at:
        action_enqueue(begun)
    return begun, result


def stage_create_now(*, show: Show, name: str, actor: Actor) -> Stage:
    """``POST /api/stage``: a secondary stage created in this request (its ARN is the
    answer); the replication into it is started by a worker right after."""
    if name and not re.fullmatch(STAGE_NAME_RE, name):
        raise ValidationFailed(
            _("A stage name has 1-128 letters, digits, - or _."), detail={"name": name[:140]}
        )
    if show.state != Show.State.ACTIVE:
        raise Conflict(_("This show has ended."), code="show_ended")
    live = Stage.objects.filter(show=show, state__in=(State.CREATING, State.ACTIVE)).count()
    if live >= show.max_stages:
        raise Conflict(
            _("%(show)s has its %(n)s stages already (the master and 5 replicas at most).")
            % {"show": show.name, "n": show.max_stages},
            code="show_full",
        )
    try:
        with transaction.atomic():
            stage = stage_row_new(show=show, role=Role.SECONDARY, name=name)
    except IntegrityError as exc:
        raise Conflict(
            _("Another stage of %(show)s is being created; try again in a moment.")
            % {"show": show.name},
            code="stage_pending",
        ) from exc

    def step(run: ActionRun) -> None:
        created = stage_create_step(run, stage)
        run.checkpoint(manual=True)
        stage.refresh_from_db()
        logger.info("IVS stage %s created by %s", created.arn, actor.name)

    try:
        _run_now(kind=CREATE, stage=stage, actor=actor, params={"reason": "manual"}, step=step)
    except Exception:
        Stage.objects.filter(pk=stage.pk, state=State.CREATING, arn="").update(
            state=State.DELETED, deleted_at=timezone.now()
        )
        raise
    return stage


@dataclass(frozen=True)
class ReplicationAnswer:
    """The existing frontend's answer: ``{"success", "message"}``."""

    success: bool
    message: str
    state: str
    action_id: int


def _replication_target(*, source_arn: str, destination: Stage, participant_id: str) -> Stage:
    master = master_stage(show=destination.show)
    if master is None or master.arn != source_arn:
        raise ValidationFailed(
            _("sourceStageArn must be the master stage of %(show)s (%(arn)s).")
            % {"show": destination.show.name, "arn": master.arn if master else "-"},
            detail={"sourceStageArn": source_arn},
        )
    if destination.role != Role.SECONDARY:
        raise ValidationFailed(
            _("destinationStageArn is the master stage; replicate into a secondary."),
            detail={"destinationStageArn": destination.arn},
        )
    return master


def replication_start_now(
    *, source_arn: str, destination: Stage, participant_id: str, actor: Actor
) -> ReplicationAnswer:
    """``POST /api/stage/replication/start``: IVS's answer, in this request."""
    _replication_target(
        source_arn=source_arn, destination=destination, participant_id=participant_id
    )

    def step(run: ActionRun) -> ReplicationResult:
        result = replication_ensure(stage=destination, participant_id=participant_id, run=run)
        run.finish(_manual_outcome(result, destination))
        return result

    action, result = _run_now(
        kind=REPLICATION_START,
        stage=destination,
        actor=actor,
        params={"participant_id": participant_id, "manual": True},
        step=step,
    )
    assert isinstance(result, ReplicationResult)
    if result.started:
        message = _("Participant replication started.")
    elif result.state == Replication.PENDING:
        message = result.message  # IVS's own words: "<participantId> is not publishing"
    else:
        message = result.message or _("Replication was refused.")
    return ReplicationAnswer(result.started, message, result.state, action.pk)


def replication_stop_now(
    *, source_arn: str, destination: Stage, participant_id: str, actor: Actor
) -> ReplicationAnswer:
    """``POST /api/stage/replication/stop``: stopped in this request."""
    _replication_target(
        source_arn=source_arn, destination=destination, participant_id=participant_id
    )

    def step(run: ActionRun) -> ReplicationResult:
        result = replication_end(stage=destination, participant_id=participant_id, run=run)
        run.finish(
            Outcome(
                ok=True,
                text=text(
                    gettext_noop("Replication into %(stage)s is stopped."), stage=destination.name
                ),
                result={"replication": result.state},
            )
        )
        return result

    action, result = _run_now(
        kind=REPLICATION_STOP,
        stage=destination,
        actor=actor,
        params={"participant_id": participant_id, "manual": True},
        step=step,
    )
    assert isinstance(result, ReplicationResult)
    return ReplicationAnswer(True, _("Participant replication stopped."), result.state, action.pk)


def _manual_outcome(result: ReplicationResult, stage: Stage) -> Outcome:
    line: Text
    if result.started:
        line = text(gettext_noop("Replication into %(stage)s started."), stage=stage.name)
    else:
        line = text(
            gettext_noop("Replication into %(stage)s not started: %(message)s"),
            stage=stage.name,
            message=plain(result.message),
        )
    return Outcome(
        ok=result.started,
        text=line,
        code="" if result.started else result.state,
        result={"replication": result.state, "message": result.message},
    )


RUNNERS = {SHOW_END: show_end_run}
