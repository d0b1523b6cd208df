"""Acting on a cloud resource: begin (guards, claim, enqueue), run, take over.

``action_begin`` is what every caller uses (the admin, the API, commands, schedules, Slack,
the MCP server): it asks the guards, claims the resource and enqueues one Celery task on
commit. ``action_run`` is that task's body: it takes the action's lease by compare-and-set,
calls the runner registered for the action's kind and finishes the action with the runner's
outcome. ``action_takeover`` (beat) hands an action whose lease expired (its worker died, or
its task message was lost, which the filesystem broker does) to a new run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from broadcastops import registry
from broadcastops.actions.models import OperatorAction
from broadcastops.actions.runs import ActionRun, StateTimeout, action_held, lease_delta
from broadcastops.actions.text import Text, plain, text
from broadcastops.actions.types import ActionFailed, Actor, LeaseLost, Outcome, Target
from broadcastops.cloud.errors import (
    CloudError,
    CloudNotFound,
    CloudStateError,
    CloudTransientError,
)
from broadcastops.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    UpstreamUnavailable,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

Status = OperatorAction.Status


# --- begin ------------------------------------------------------------------------------------
def guards_check(*, target: Target, verb: str, override: bool) -> list[str]:
    """Ask every registered guard; ``Conflict`` (``guarded``) unless ``override``. Returns the
    reasons that were overridden (recorded with the action)."""
    reasons = [r for r in (g(target, verb) for g in registry.ACTION_GUARDS.all()) if r]
    if reasons and not override:
        raise Conflict(
            " ".join(reasons) + " " + _("Repeat with an explicit override to act anyway."),
            code="guarded",
            detail={"reasons": reasons},
        )
    return reasons


def action_claim(
    *,
    kind: str,
    target: Target,
    actor: Actor,
    params: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> OperatorAction:
    """Write the audit row that claims ``target``; 409 ``busy`` while another action runs.

    The row starts unowned with a lease, so an action whose task is never delivered is
    taken over when the lease runs out."""
    try:
        with transaction.atomic():
            return OperatorAction.objects.create(
                actor=actor.user,
                actor_name=actor.name,
                origin=actor.origin,
                origin_ref=actor.ref,
                action=kind,
                target_type=target.type,
                target_id=target.id,
                target_name=target.name,
                params=params or {},
                state=state or {},
                lease_expires_at=timezone.now() + lease_delta(),
            )
    except IntegrityError as exc:
        running = OperatorAction.objects.filter(
            target_type=target.type, target_id=target.id, status=Status.RUNNING
        ).first()
        name = target.name or target.id
        if running is None:
            message = _("%(name)s is busy: another action is still running. Wait for it.") % {
                "name": name
            }
        else:
            message = _(
                "%(name)s is busy: %(who)s (%(action)s) is still running. Wait for it to finish."
            ) % {"name": name, "who": running.actor_name, "action": running.action}
        raise Conflict(
            message, code="busy", detail={"action_id": running.pk if running else None}
        ) from exc


def action_enqueue(action: OperatorAction) -> None:
    """Run ``action`` in a Celery task once the caller's transaction commits."""
    from broadcastops.actions.tasks import action_run_task

    action_id = action.pk
    transaction.on_commit(lambda: action_run_task.delay(action_id))


def action_begin(
    *,
    kind: str,
    target: Target,
    actor: Actor,
    params: dict[str, Any] | None = None,
    verb: str | None = None,
    override: bool = False,
) -> OperatorAction:
    """Guards, claim, enqueue: the one way to start an action. Returns the running row.

    ``verb`` (start, stop, restart) is what the guards are asked about; ``override`` acts
    in spite of them and records their reasons in the params."""
    params = dict(params or {})
    if verb is not None:
        reasons = guards_check(target=target, verb=verb, override=override)
        params.update(override=override, overridden=reasons)
    action = action_claim(kind=kind, target=target, actor=actor, params=params)
    action_enqueue(action)
    logger.info("Action %s %s on %s begun by %s", action.pk, kind, target.id, actor.name)
    return action


# --- cloud errors --------------------------------------------------------------------------------
def cloud_error_text(exc: CloudError, name: str) -> Text:
    """A cloud error as an operator reads it (stored, shown in the reader's language)."""
    message = exc.message
    if isinstance(exc, CloudStateError):
        return text(
            gettext_noop("%(name)s: the cloud refused in its current state (%(message)s)."),
            name=name,
            message=message,
        )
    if isinstance(exc, CloudNotFound):
        return text(
            gettext_noop("%(name)s no longer exists in the cloud (%(message)s)."),
            name=name,
            message=message,
        )
    if isinstance(exc, CloudTransientError):
        return text(
            gettext_noop("The cloud did not answer for %(name)s: %(message)s"),
            name=name,
            message=message,
        )
    return text(
        gettext_noop("The cloud refused the action on %(name)s: %(message)s"),
        name=name,
        message=message,
    )


def cloud_error_code(exc: CloudError) -> str:
    if isinstance(exc, CloudStateError):
        return "cloud_state"
    if isinstance(exc, CloudNotFound):
        return "not_found"
    if isinstance(exc, CloudTransientError):
        return "upstream_unavailable"
    return "cloud_refused"


def cloud_error_as_application_error(exc: CloudError, name: str) -> ApplicationError:
    """For a synchronous answer (a plan, a begin): the same sentence, in the request's
    language, with the status that fits."""
    message = cloud_error_text(exc, name).render()
    if isinstance(exc, CloudStateError):
        return Conflict(message)
    if isinstance(exc, CloudNotFound):
        return NotFound(message)
    if isinstance(exc, CloudTransientError):
        return UpstreamUnavailable(message)
    return ValidationFailed(message)


# --- run ---------------------------------------------------------------------------------------
def _run_runner(run: ActionRun) -> None:
    action = run.action
    name = action.target_name or action.target_id
    runner = registry.ACTION_RUNNERS.get(action.action)
    if runner is None:
        run.fail(
            text(
                gettext_noop("No runner is registered for %(kind)s actions; nothing was done."),
                kind=action.action,
            ),
            code="no_runner",
        )
        return
    if run.taken_over:
        run.progress(
            text(
                gettext_noop(
                    "Taken over by a new worker (attempt %(n)s): the previous one stopped."
                ),
                n=action.attempts,
            )
        )
    try:
        outcome = runner(run)
    except ActionFailed as exc:
        outcome = exc.outcome
    except CloudError as exc:
        outcome = Outcome(ok=False, text=cloud_error_text(exc, name), code=cloud_error_code(exc))
        if exc.request_id:
            run.action.request_ids = [*run.action.request_ids, exc.request_id]
    except StateTimeout as exc:
        outcome = Outcome(ok=False, text=exc.as_text(name), code="timeout")
    if not run.finished:
        run.finish(outcome)


def action_run(*, action_id: int) -> None:
    """Run a claimed action (the body of ``action_run_task``). Safe to call again: an action
    that is finished, or held by a live run, is left alone."""
    try:
        with action_held(action_id) as run:
            if run is None:
                logger.info("Action %s: finished or held by another run; nothing to do", action_id)
                return
            try:
                _run_runner(run)
            except LeaseLost:
                logger.warning("Action %s: taken over by another run; this one stops", action_id)
            except Exception as exc:  # a runner's bug must still end the action, once
                logger.exception("Action %s: runner failed", action_id)
                if not run.finished:
                    run.fail(
                        text(gettext_noop("Failed: %(error)s"), error=plain(str(exc) or repr(exc))),
                        code="internal_error",
                    )
    except LeaseLost:
        logger.warning("Action %s: lease lost while finishing", action_id)


def action_takeover(*, now: datetime | None = None) -> list[int]:
    """Hand every running action whose lease expired to a new run (beat).

    The release is a compare-and-set on the expired lease, so two beats (or two workers)
    never both take an action over; the new run takes the lease the same way. An action
    whose workers stopped ``ACTIONS_MAX_ATTEMPTS`` times is ended as failed."""
    now = now or timezone.now()
    taken = []
    expired = OperatorAction.objects.filter(status=Status.RUNNING, lease_expires_at__lt=now)
    for pk, owner, expires, attempts, name in expired.values_list(
        "pk", "lease_owner", "lease_expires_at", "attempts", "target_name"
    ):
        same = OperatorAction.objects.filter(
            pk=pk, status=Status.RUNNING, lease_owner=owner, lease_expires_at=expires
        )
        if attempts >= settings.ACTIONS_MAX_ATTEMPTS:
            line = text(
                gettext_noop(
                    "Gave up: %(n)s workers stopped while running this action. Check %(name)s."
                ),
                n=attempts,
                name=name,
            )
            ended = same.update(
                status=Status.FAILED,
                outcome=line.english(),
                outcome_msg=line.to_json(),
                outcome_code="abandoned",
                finished_at=now,
                lease_owner="",
                lease_expires_at=None,
            )
            if ended:
                logger.error("Action %s on %s abandoned after %s attempts", pk, name, attempts)
            continue
        if same.update(lease_owner="", lease_expires_at=now + lease_delta()) != 1:
            continue  # someone else renewed, finished or took it over meanwhile
        logger.warning(
            "Action %s on %s: lease of %s expired; handing it to a new worker",
            pk,
            name,
            owner or "the queued task",
        )
        taken.append(pk)
        action_enqueue(OperatorAction(pk=pk))
    return taken
