"""The reconcile (beat): the database against what IVS lists, and the drift fixed.

EventBridge's stage events are best-effort (late, lost, out of order), so nothing here waits
for them: every ``IVS_RECONCILE_INTERVAL_S`` the console reads ``ListStages`` (once for the
region, with the tags), ``ListParticipantReplicas`` (once per show) and ``ListParticipants``
(per stage with seats), all paced at IVS's 5 calls a second, and fixes what differs:

* a stage deleted outside the console is marked deleted and its seats freed (a lost master
  is created again: the broadcaster needs a new token);
* a stage the console created but never recorded (a worker that died between CreateStage and
  saving its ARN) is found by its ``broadcastops:create-id`` tag and adopted; a second stage
  with the same tag (a create sent twice) is deleted; a stage still being created with no
  action running is created again (which looks for its tag first);
* a replication IVS ended (the broadcaster was away longer than ``reconnectWindowSeconds``)
  is marked pending and started again while the broadcaster publishes; one IVS still runs
  into a stage the console deleted is stopped;
* seats: a participant seen connected keeps its seat; one seen disconnected, or never seen
  within ``IVS_SEAT_CONNECT_S``, frees it;
* a show that is ending: its secondaries are deleted, then it is ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.text import text
from broadcastops.cloud.errors import CloudError
from broadcastops.cloud.ivs import CREATE_ID_TAG, MANAGED_TAG
from broadcastops.cloud.ivs import Stage as CloudStage
from broadcastops.errors import Conflict
from ivs_scaling.models import Publisher, Seat, Show, ShowEvent, Stage
from ivs_scaling.selectors import master_stage
from ivs_scaling.services.common import gateway, scaler, stage_target
from ivs_scaling.services.events import event_record
from ivs_scaling.services.replication import active_replicas, replication_mark
from ivs_scaling.services.seats import stage_seats_free
from ivs_scaling.services.stages import (
    orphan_delete_begin,
    replication_start_begin,
    replication_stop_begin,
    seats_clear,
    stage_create_begin,
    stage_delete_begin,
    stage_row_new,
)

logger = logging.getLogger(__name__)

State = Stage.State
Role = Stage.Role
Replication = Stage.Replication
Level = ShowEvent.Level
LOCK = "ivs:reconcile:lock"


@dataclass
class ReconcileReport:
    """What one reconcile found and did (for the log, the command and the tests)."""

    shows: int = 0
    gone: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    replications_ended: list[str] = field(default_factory=list)
    replications_found: list[str] = field(default_factory=list)
    replicas_stopped: list[str] = field(default_factory=list)
    seats_confirmed: int = 0
    seats_freed: int = 0
    actions: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _running_stage_actions() -> set[str]:
    return set(
        OperatorAction.objects.filter(
            status=OperatorAction.Status.RUNNING, target_type="ivs_stage"
        ).values_list("target_id", flat=True)
    )


def show_reconcile_all() -> ReconcileReport:
    """One reconcile of every show that is on or ending; skipped while another one runs."""
    report = ReconcileReport()
    if not cache.add(LOCK, 1, timeout=max(60, int(settings.IVS_RECONCILE_INTERVAL_S * 4))):
        logger.info("IVS reconcile: the previous one still runs; skipped")
        return report
    try:
        cloud = {s.arn: s for s in gateway().stage_list()}
        running = _running_stage_actions()
        _orphans(cloud, running, report)
        for show in Show.objects.exclude(state=Show.State.ENDED):
            report.shows += 1
            try:
                show_reconcile(show=show, cloud=cloud, running=running, report=report)
            except CloudError as exc:
                report.errors.append(f"{show.name}: {exc}")
                logger.warning("IVS reconcile of %s: %s", show.name, exc)
    finally:
        cache.delete(LOCK)
    logger.info("IVS reconcile: %s", report)
    return report


def _orphans(cloud: dict[str, CloudStage], running: set[str], report: ReconcileReport) -> None:
    """Stages tagged by this console that its database does not hold as they are."""
    known = set(Stage.objects.exclude(arn="").values_list("arn", flat=True))
    for arn, found in cloud.items():
        create_id = found.tags.get(CREATE_ID_TAG, "")
        if arn in known or found.tags.get(MANAGED_TAG) != "true" or not create_id:
            continue
        stage = Stage.objects.select_related("show").filter(create_id=create_id).first()
        if stage is None:
            continue  # tagged by another installation: not ours to judge
        if stage.state == State.CREATING and not stage.arn:
            if stage.create_id in running:
                continue  # its create is running: it saves the ARN itself
            with transaction.atomic():
                adopted = Stage.objects.filter(pk=stage.pk, state=State.CREATING, arn="").update(
                    arn=arn, state=State.ACTIVE, activated_at=timezone.now()
                )
                if adopted:
                    event_record(
                        show=stage.show,
                        stage=stage,
                        kind="drift_adopted",
                        level=Level.WARNING,
                        line=text(
                            gettext_noop(
                                "Found %(arn)s on IVS by its create id: %(stage)s was created "
                                "but never recorded (its worker stopped); adopted."
                            ),
                            arn=arn,
                            stage=stage.name,
                        ),
                    )
            if adopted:
                report.adopted.append(arn)
                stage.refresh_from_db()
                if stage.role == Role.SECONDARY and stage.show.state == Show.State.ACTIVE:
                    _begin(report, replication_start_begin, stage=stage, actor=scaler(stage.show))
            continue
        reason = (
            f"a second stage with the create id of {stage.name} ({stage.arn or 'none'})"
            if stage.state != State.DELETED
            else f"{stage.name} was deleted in the console"
        )
        report.orphans.append(arn)
        _begin(report, orphan_delete_begin, show=stage.show, arn=arn, reason=reason)


def _begin(report: ReconcileReport, begin: object, **kwargs: object) -> None:
    try:
        action = begin(**kwargs)  # type: ignore[operator]
    except Conflict:
        return  # another action holds it: the next reconcile looks again
    report.actions.append(action.pk)


def show_reconcile(
    *,
    show: Show,
    cloud: dict[str, CloudStage],
    running: set[str],
    report: ReconcileReport,
) -> None:
    now = timezone.now()
    stages = list(
        Stage.objects.filter(show=show, state__in=(State.CREATING, State.ACTIVE, State.DRAINING))
    )
    for stage in stages:
        if stage.state == State.CREATING:
            stale = stage.created_at < now - timedelta(seconds=settings.IVS_CREATING_STALE_S)
            if stale and stage.create_id not in running:
                report.recreated.append(stage.name)
                _begin(report, stage_create_begin, stage=stage, actor=scaler(show), reason="stale")
        elif stage.arn not in cloud:
            _gone(show, stage, report)
    if show.state == Show.State.ENDING:
        _ending(show, running, report)
        return
    _replications(show, cloud, report)
    for stage in Stage.objects.filter(show=show, state__in=(State.ACTIVE, State.DRAINING)):
        summary = cloud.get(stage.arn)
        if summary is not None:
            _seats(stage, summary.active_session_id, now, report)


def _gone(show: Show, stage: Stage, report: ReconcileReport) -> None:
    """The stage is not on IVS any more: someone deleted it outside the console."""
    with transaction.atomic():
        if not Stage.objects.filter(pk=stage.pk, state__in=(State.ACTIVE, State.DRAINING)).update(
            state=State.DELETED, deleted_at=timezone.now(), empty_since=None
        ):
            return
        freed = seats_clear(stage)
        event_record(
            show=show,
            stage=stage,
            kind="drift_stage_gone",
            level=Level.ERROR if stage.role == Role.MASTER else Level.WARNING,
            line=text(
                gettext_noop(
                    "%(stage)s (%(arn)s) was deleted outside the console; %(freed)s seats freed."
                ),
                stage=stage.name,
                arn=stage.arn,
                freed=freed,
            ),
        )
        report.gone.append(stage.arn)
        if stage.role == Role.MASTER and show.state == Show.State.ACTIVE:
            master = stage_row_new(show=show, role=Role.MASTER)
            Publisher.objects.filter(show=show).delete()
            transaction.on_commit(lambda: _mirror_clear(show.pk))
            event_record(
                show=show,
                stage=master,
                kind="master_recreated",
                level=Level.ERROR,
                line=text(
                    gettext_noop(
                        "Creating a new master %(stage)s: the broadcaster must take a new token."
                    ),
                    stage=master.name,
                ),
            )
            _begin(report, stage_create_begin, stage=master, actor=scaler(show), reason="gone")


def _mirror_clear(show_id: int) -> None:
    from ivs_scaling import mirror

    mirror.mirror_write(show_id, None)


def _replications(show: Show, cloud: dict[str, CloudStage], report: ReconcileReport) -> None:
    publisher = Publisher.objects.filter(show=show).first()
    master = master_stage(show=show)
    if publisher is None or master is None or master.state != State.ACTIVE:
        return
    live = active_replicas(
        gateway(), master_arn=master.arn, participant_id=publisher.participant_id
    )
    by_arn = {s.arn: s for s in Stage.objects.filter(show=show).exclude(arn="")}
    for stage in by_arn.values():
        if stage.role != Role.SECONDARY or stage.state != State.ACTIVE:
            continue
        if stage.replication_state == Replication.ACTIVE and stage.arn not in live:
            replication_mark(
                stage,
                state=Replication.PENDING,
                note="ended by IVS",
                kind="replication_ended",
                level=Level.WARNING,
                line=text(
                    gettext_noop(
                        "IVS no longer replicates the broadcaster into %(stage)s (away longer "
                        "than the reconnect window of %(s)s s); it starts again when the "
                        "broadcaster publishes."
                    ),
                    stage=stage.name,
                    s=show.reconnect_window_s,
                ),
            )
            report.replications_ended.append(stage.name)
            if publisher.publishing:
                _begin(report, replication_start_begin, stage=stage, actor=scaler(show))
        elif stage.replication_state != Replication.ACTIVE and stage.arn in live:
            replication_mark(
                stage,
                state=Replication.ACTIVE,
                participant_id=publisher.participant_id,
                kind="drift_replication_found",
                line=text(
                    gettext_noop("IVS replicates the broadcaster into %(stage)s: recorded."),
                    stage=stage.name,
                ),
            )
            report.replications_found.append(stage.name)
    for arn in live:
        left = by_arn.get(arn)
        if left is not None and left.state == State.DELETED and arn in cloud:
            # Left on a stage the console deleted (DeleteStage's effect on it is undocumented).
            report.replicas_stopped.append(arn)
            _begin(report, replication_stop_begin, stage=left, actor=scaler(show))


def _seats(stage: Stage, session_id: str, now: datetime, report: ReconcileReport) -> None:
    seats = list(Seat.objects.filter(stage=stage).values_list("pk", "participant_id", "expires_at"))
    if not seats:
        return
    states: dict[str, str] = {}
    if session_id:
        states = {
            p.participant_id: p.state
            for p in gateway().participant_list(stage_arn=stage.arn, session_id=session_id)
            if not p.is_replica
        }
    connected = [pk for pk, pid, _ in seats if states.get(pid) == "CONNECTED"]
    free = [
        pk
        for pk, pid, expires in seats
        if states.get(pid) == "DISCONNECTED"
        or (pid not in states and (expires is None or expires < now))
    ]
    if connected:
        report.seats_confirmed += Seat.objects.filter(
            Q(connected_at=None) | ~Q(expires_at=None), pk__in=connected
        ).update(connected_at=now, expires_at=None)
    freed = stage_seats_free(stage_id=stage.pk, seat_ids=free, now=now)
    report.seats_freed += freed
    if freed:
        event_record(
            show=stage.show_id,
            stage=stage,
            kind="seats_freed",
            line=text(
                gettext_noop(
                    "%(n)s seats of %(stage)s freed: their viewers left or never connected."
                ),
                n=freed,
                stage=stage.name,
            ),
        )


def _ending(show: Show, running: set[str], report: ReconcileReport) -> None:
    left = list(Stage.objects.filter(show=show, role=Role.SECONDARY).exclude(state=State.DELETED))
    for stage in left:
        if stage.state != State.CREATING and stage_target(stage).id not in running:
            _begin(report, stage_delete_begin, stage=stage, actor=scaler(show))
    if not left and Show.objects.filter(pk=show.pk, state=Show.State.ENDING).update(
        state=Show.State.ENDED, ended_at=timezone.now()
    ):
        event_record(
            show=show,
            kind="show_ended",
            line=text(
                gettext_noop("%(show)s has ended: every secondary is deleted."), show=show.name
            ),
        )
