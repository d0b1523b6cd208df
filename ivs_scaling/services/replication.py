"""Participant replication of the broadcaster into secondary stages, decided from IVS's state.

Every step reads ``ListParticipantReplicas`` first, so a start that already went through (a
worker that died after it, a lost answer) is recognised instead of sent again, and a stop finds
what is really running. "<participantId> is not publishing" is a normal answer: the stage stays
usable, its replication is marked pending with a warning, and the watch starts it as soon as
the broadcaster publishes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_noop

from broadcastops.actions.runs import ActionRun
from broadcastops.actions.text import Text, plain, text
from broadcastops.cloud.errors import (
    CloudNotFound,
    CloudQuotaExceeded,
    CloudStateError,
    NotPublishingError,
)
from broadcastops.cloud.ivs import IvsGateway, Replica
from ivs_scaling.models import Publisher, ShowEvent, Stage
from ivs_scaling.selectors import master_stage
from ivs_scaling.services.common import gateway
from ivs_scaling.services.events import event_record

logger = logging.getLogger(__name__)

Replication = Stage.Replication
Level = ShowEvent.Level


@dataclass(frozen=True)
class ReplicationResult:
    """How a start or stop ended: the stage's replication state and IVS's own message."""

    state: str
    message: str = ""
    request_id: str = ""

    @property
    def started(self) -> bool:
        return self.state == Replication.ACTIVE


def active_replicas(gw: IvsGateway, *, master_arn: str, participant_id: str) -> dict[str, Replica]:
    """The broadcaster's ACTIVE replicas out of the master, by destination stage ARN."""
    if not master_arn or not participant_id:
        return {}
    try:
        replicas = gw.replica_list(source_stage_arn=master_arn, participant_id=participant_id)
    except CloudNotFound:
        return {}
    return {r.destination_stage_arn: r for r in replicas if r.active}


def replication_mark(
    stage: Stage,
    *,
    state: str,
    participant_id: str | None = None,
    note: str = "",
    line: Text | None = None,
    kind: str = "",
    level: str = Level.INFO,
    run: ActionRun | None = None,
) -> bool:
    """Record the stage's replication state; write the event (and the action's progress)
    only when it changed. Returns whether it changed."""
    fields: dict[str, object] = {"replication_state": state, "replication_note": note[:300]}
    if participant_id is not None:
        fields["replication_participant_id"] = participant_id
    changed = stage.replication_state != state or stage.replication_note != note[:300]
    if participant_id is not None:
        changed = changed or stage.replication_participant_id != participant_id
    if not changed:
        return False
    fields["replication_changed_at"] = timezone.now()
    Stage.objects.filter(pk=stage.pk).update(**fields)
    for name, value in fields.items():
        setattr(stage, name, value)
    if line is not None:
        event_record(
            show=stage.show_id,
            stage=stage,
            kind=kind,
            line=line,
            level=level,
            action_id=run.action.pk if run is not None else None,
        )
        if run is not None:
            run.progress(line)
    return True


def replication_ensure(
    *, stage: Stage, participant_id: str = "", run: ActionRun | None = None
) -> ReplicationResult:
    """Copy the broadcaster (or ``participant_id``) from the master into ``stage``, unless
    IVS already does. Not publishing -> pending; the replica quota -> failed."""
    show = stage.show
    master = master_stage(show=show)
    publisher = Publisher.objects.filter(show=show).first()
    pid = participant_id or (publisher.participant_id if publisher else "")
    if not pid:
        replication_mark(
            stage,
            state=Replication.PENDING,
            note="no broadcaster yet",
            kind="replication_pending",
            level=Level.WARNING,
            line=text(
                gettext_noop(
                    "Replication into %(stage)s is pending: the show has no broadcaster yet. "
                    "It starts once the broadcaster publishes."
                ),
                stage=stage.name,
            ),
            run=run,
        )
        return ReplicationResult(Replication.PENDING, "no broadcaster yet")
    if master is None or not master.arn:
        raise CloudNotFound(
            "the show has no master stage", vendor="ivs_scaling", action="replication"
        )
    gw = gateway()
    if stage.arn in active_replicas(gw, master_arn=master.arn, participant_id=pid):
        replication_mark(
            stage,
            state=Replication.ACTIVE,
            participant_id=pid,
            kind="replication_active",
            line=text(
                gettext_noop("IVS already replicates %(participant)s into %(stage)s."),
                participant=pid,
                stage=stage.name,
            ),
            run=run,
        )
        return ReplicationResult(Replication.ACTIVE)
    old = stage.replication_participant_id
    # Another participant's copy (the broadcaster before a new token, or the one a manual
    # start replaces) is stopped once the new copy runs, not before: a refused start keeps
    # the viewers' picture (5 replicas per participant, so both fit for a moment).
    replaced = old if old and old != pid and stage.replication_state == Replication.ACTIVE else ""
    try:
        gw.replication_start(
            source_stage_arn=master.arn,
            destination_stage_arn=stage.arn,
            participant_id=pid,
            reconnect_window_s=show.reconnect_window_s,
            attributes={"show": show.name},
        )
    except NotPublishingError as exc:
        if replaced and stage.arn in active_replicas(
            gw, master_arn=master.arn, participant_id=replaced
        ):
            refused = text(
                gettext_noop(
                    "Replication of %(participant)s into %(stage)s refused: IVS says "
                    "%(message)s. The copy of %(current)s keeps running."
                ),
                participant=pid,
                stage=stage.name,
                message=plain(exc.message),
                current=replaced,
            )
            event_record(
                show=stage.show_id,
                stage=stage,
                kind="replication_refused",
                level=Level.WARNING,
                line=refused,
                action_id=run.action.pk if run is not None else None,
            )
            if run is not None:
                run.progress(refused)
            return ReplicationResult(Replication.PENDING, exc.message, exc.request_id)
        replication_mark(
            stage,
            state=Replication.PENDING,
            participant_id=pid,
            note=exc.message,
            kind="replication_pending",
            level=Level.WARNING,
            line=text(
                gettext_noop(
                    "Replication into %(stage)s is pending: IVS says %(message)s. The stage "
                    "stays usable; replication starts by itself when the broadcaster publishes."
                ),
                stage=stage.name,
                message=plain(exc.message),
            ),
            run=run,
        )
        return ReplicationResult(Replication.PENDING, exc.message, exc.request_id)
    except CloudQuotaExceeded as exc:
        replication_mark(
            stage,
            state=Replication.FAILED,
            participant_id=pid,
            note=exc.message,
            kind="replication_failed",
            level=Level.ERROR,
            line=text(
                gettext_noop(
                    "Replication into %(stage)s refused: the broadcaster already has the most "
                    "replicas IVS allows (%(message)s)."
                ),
                stage=stage.name,
                message=plain(exc.message),
            ),
            run=run,
        )
        return ReplicationResult(Replication.FAILED, exc.message, exc.request_id)
    except CloudStateError:
        # A duplicate start is a conflict: IVS may already do it (a start whose answer was
        # lost). Decide from the list, not from the refusal.
        if stage.arn not in active_replicas(gw, master_arn=master.arn, participant_id=pid):
            raise
    if replaced:
        _stop(gw, master_arn=master.arn, stage=stage, participant_id=replaced)
    replication_mark(
        stage,
        state=Replication.ACTIVE,
        participant_id=pid,
        kind="replication_started",
        line=text(
            gettext_noop(
                "Replication of %(participant)s from the master into %(stage)s started "
                "(reconnect window %(window)s s)."
            ),
            participant=pid,
            stage=stage.name,
            window=show.reconnect_window_s,
        ),
        run=run,
    )
    return ReplicationResult(Replication.ACTIVE)


def _stop(gw: IvsGateway, *, master_arn: str, stage: Stage, participant_id: str) -> bool:
    """Stop one replication if IVS runs it; whether there was one to stop."""
    if stage.arn not in active_replicas(gw, master_arn=master_arn, participant_id=participant_id):
        return False
    try:
        gw.replication_stop(
            source_stage_arn=master_arn,
            destination_stage_arn=stage.arn,
            participant_id=participant_id,
        )
    except CloudNotFound:
        return False  # ended meanwhile (the window ran out)
    return True


def replication_end(
    *,
    stage: Stage,
    state: str = Replication.STOPPED,
    participant_id: str = "",
    run: ActionRun | None = None,
) -> ReplicationResult:
    """Stop every copy of the broadcaster into ``stage`` that IVS runs (the recorded
    participant and the current publisher), and record ``state``."""
    master = master_stage(show=stage.show)
    publisher = Publisher.objects.filter(show=stage.show).first()
    ids = {
        pid
        for pid in (
            participant_id,
            stage.replication_participant_id,
            publisher.participant_id if publisher else "",
        )
        if pid
    }
    stopped = []
    if master is not None and master.arn and stage.arn:
        gw = gateway()
        stopped = [
            pid
            for pid in sorted(ids)
            if _stop(gw, master_arn=master.arn, stage=stage, participant_id=pid)
        ]
    if stopped:
        line = text(
            gettext_noop("Replication of %(participant)s into %(stage)s stopped."),
            participant=", ".join(stopped),
            stage=stage.name,
        )
    else:
        line = text(gettext_noop("No replication into %(stage)s was running."), stage=stage.name)
    replication_mark(stage, state=state, kind="replication_stopped", line=line, run=run)
    return ReplicationResult(state)
