"""Reads of the shows: which show a request means, stages with their counts, the broadcaster,
the event log. Every interface (API, admin, commands) reads through these."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.selectors import action_list
from broadcastops.actions.text import text_render
from broadcastops.errors import NotFound, ValidationFailed
from ivs_scaling import mirror
from ivs_scaling.models import SHOW_NAME_RE, Publisher, Show, ShowEvent, Stage

STAGE_ARN_RE = re.compile(r"^arn:aws:ivs:[a-z0-9-]+:[0-9]+:stage/[a-zA-Z0-9-]+$")
PARTICIPANT_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
LIVE_STAGES = (Stage.State.CREATING, Stage.State.ACTIVE, Stage.State.DRAINING)


def show_get(*, name: str = "") -> Show:
    """The show a request names, or the only show that is on when it names none."""
    if name:
        if not re.fullmatch(SHOW_NAME_RE, name):
            raise ValidationFailed(
                _("%(name)r is not a show name (letters, digits, - and _).") % {"name": name[:60]}
            )
        show = Show.objects.filter(name=name).first()
        if show is None:
            raise NotFound(_("No show named %(name)s.") % {"name": name})
        return show
    shows = list(Show.objects.filter(state=Show.State.ACTIVE)[:2])
    if not shows:
        raise NotFound(_("No show is on. Create one first (POST /api/v1/shows/)."))
    if len(shows) > 1:
        raise ValidationFailed(
            _('Several shows are on: say which one with "show": "<name>".'), code="show_required"
        )
    return shows[0]


def show_list(*, state: str = "") -> QuerySet[Show]:
    shows = Show.objects.all()
    if state:
        shows = shows.filter(state=state)
    return shows


def stage_list(*, show: Show, live_only: bool = True) -> list[Stage]:
    """The show's stages in assignment order: the master, then the newest secondary first."""
    stages = Stage.objects.filter(show=show).order_by("role", "-created_at")
    if live_only:
        stages = stages.filter(state__in=LIVE_STAGES)
    return list(stages)


def stage_get_by_arn(*, arn: str, field: str = "stageArn") -> Stage:
    """A stage of the console by its ARN: 400 when it is not an ARN, 404 when it is not ours."""
    if not STAGE_ARN_RE.fullmatch(arn or "") or len(arn) > 128:
        raise ValidationFailed(
            _("%(field)s is not an IVS stage ARN (arn:aws:ivs:<region>:<account>:stage/<id>).")
            % {"field": field},
            detail={field: arn[:140] if isinstance(arn, str) else ""},
        )
    stage = (
        Stage.objects.select_related("show")
        .filter(arn=arn)
        .exclude(state=Stage.State.DELETED)
        .first()
    )
    if stage is None:
        raise NotFound(
            _("No stage %(arn)s in the console (unknown, or deleted).") % {"arn": arn},
            detail={field: arn},
        )
    return stage


def participant_id_check(value: str, field: str = "participantId") -> str:
    if not isinstance(value, str) or not PARTICIPANT_ID_RE.fullmatch(value):
        raise ValidationFailed(
            _("%(field)s is not an IVS participant id (1-64 letters, digits, - or _).")
            % {"field": field},
            detail={field: str(value)[:80]},
        )
    return value


def master_stage(*, show: Show) -> Stage | None:
    return (
        Stage.objects.filter(show=show, role=Stage.Role.MASTER)
        .exclude(state=Stage.State.DELETED)
        .first()
    )


def publisher_state(*, show: Show) -> mirror.PublisherState | None:
    """The broadcaster as the frontends read it: from Redis in the scaled mode, else the
    database (and the database when the mirror has nothing)."""
    mirrored = mirror.mirror_read(show.pk)
    if mirrored is not None:
        return mirrored
    publisher = Publisher.objects.select_related("stage", "show").filter(show=show).first()
    if publisher is None:
        return None
    return publisher_as_state(publisher)


def publisher_as_state(publisher: Publisher) -> mirror.PublisherState:
    return mirror.PublisherState(
        participant_id=publisher.participant_id,
        stage_arn=publisher.stage.arn,
        user_id=publisher.user_id,
        publishing=publisher.publishing,
        doors_open=publisher.show.doors_open,
    )


def event_list(*, show: Show | None = None, stage: Stage | None = None) -> QuerySet[ShowEvent]:
    events = ShowEvent.objects.select_related("stage")
    if show is not None:
        events = events.filter(show=show)
    if stage is not None:
        events = events.filter(stage=stage)
    return events


# The event log's kinds, in groups an operator filters by (the kinds themselves are codes).
EVENT_GROUPS: dict[str, tuple[str, ...]] = {
    "broadcaster": ("publisher_", "doors_"),
    "scaling": ("scale_", "stage_", "seats_", "show_full"),
    "replication": ("replication_",),
    "reconcile": ("drift_", "master_recreated"),
    "show": ("show_created", "show_settings", "show_ending", "show_ended"),
}


def events_in_group(events: QuerySet[ShowEvent], group: str) -> QuerySet[ShowEvent]:
    """The events whose kind belongs to ``group`` (one of ``EVENT_GROUPS``)."""
    match = Q(pk__in=[])
    for prefix in EVENT_GROUPS.get(group, ()):
        match |= Q(kind__startswith=prefix)
    return events.filter(match)


def event_text(event: ShowEvent) -> str:
    """The event's sentence in the reader's language."""
    return text_render(event.text_msg, event.text)


def show_viewer_count(*, show: Show) -> int:
    return sum(s.viewer_count for s in stage_list(show=show) if s.state != Stage.State.CREATING)


def show_actions(*, show: Show) -> QuerySet[OperatorAction]:
    """The audit trail of a show: its own actions and its stages', newest first."""
    stages = Stage.objects.filter(show=show).values_list("create_id", flat=True)
    return action_list().filter(
        Q(target_type="ivs_show", target_id=show.name)
        | Q(target_type="ivs_stage", target_id__in=list(stages))
    )
