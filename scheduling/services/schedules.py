"""Creating, changing and cancelling schedules, with the refusals operators rely on.

Every refusal is an ``ApplicationError`` with a sentence a person understands (in the
request's language) and the field it is about in ``detail``; nothing is written when a
schedule, or any occurrence of a weekly rule, is refused. The steps of a schedule are written
in the same transaction as the schedule, and moved or cancelled with it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from broadcastops.errors import Conflict, ValidationFailed
from broadcastops.inventory.models import LiveChannel
from scheduling.models import ACTIVE_STATUSES, Schedule, ScheduleStep

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = Schedule.Status
Kind = ScheduleStep.Kind
State = ScheduleStep.State

CHECK_OFFSETS = {Kind.CHECK_2H: timedelta(hours=2), Kind.CHECK_30M: timedelta(minutes=30)}
# Steps that have not begun: moved or cancelled with their schedule.
NOT_BEGUN = (State.PENDING, State.CLAIMED)


def local_text(moment: datetime) -> str:
    """A time as operators read it: in the console's time zone (default Asia/Seoul)."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i T")


@dataclass(frozen=True)
class WeeklyRule:
    """Repeat on these weekdays (0 = Monday) until this date (inclusive, local time)."""

    weekdays: frozenset[int]
    until: date


@dataclass(frozen=True)
class ScheduleResult:
    """What a create or update wrote, and the warnings to show (not refusals)."""

    schedules: list[Schedule]
    warnings: list[str] = field(default_factory=list)


def _refuse(message: str, field_name: str, **detail: Any) -> ValidationFailed:
    return ValidationFailed(message, detail={"field": field_name, **detail})


def _times_check(
    *, starts_at: datetime, ends_at: datetime, allow_past: bool, now: datetime
) -> None:
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise _refuse(_("Give the start and end with a time zone."), "starts_at")
    if ends_at == starts_at:
        raise _refuse(_("The schedule has zero length: the end equals the start."), "ends_at")
    if ends_at < starts_at:
        raise _refuse(
            _("The end (%(end)s) is before the start (%(start)s).")
            % {"end": local_text(ends_at), "start": local_text(starts_at)},
            "ends_at",
        )
    if starts_at < now - timedelta(seconds=settings.SCHEDULING_PAST_TOLERANCE_S) and not allow_past:
        raise _refuse(
            _(
                "The start (%(start)s) is in the past. For an emergency broadcast, allow a "
                "start in the past explicitly."
            )
            % {"start": local_text(starts_at)},
            "starts_at",
        )
    if ends_at - starts_at > timedelta(hours=settings.SCHEDULING_MAX_HOURS):
        raise _refuse(
            _("A schedule lasts at most %(hours)s hours.")
            % {"hours": settings.SCHEDULING_MAX_HOURS},
            "ends_at",
        )


def _overlap_check(
    *, channel: LiveChannel, starts_at: datetime, ends_at: datetime, exclude: int | None = None
) -> None:
    """Refuse an overlap with another live schedule of the same channel, naming it."""
    others = Schedule.objects.filter(
        channel=channel, status__in=ACTIVE_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    other = others.order_by("starts_at").first()
    if other is not None:
        raise Conflict(
            _(
                "It overlaps “%(title)s” on %(channel)s (%(start)s to %(end)s, schedule "
                "%(id)s). Move one of them."
            )
            % {
                "title": other.title,
                "channel": channel.name,
                "start": local_text(other.starts_at),
                "end": local_text(other.ends_at),
                "id": other.pk,
            },
            code="overlap",
            detail={"field": "starts_at", "schedule_id": other.pk},
        )


def _assignee_warnings(
    *,
    assignee: User | None,
    channel: LiveChannel,
    starts_at: datetime,
    ends_at: datetime,
    exclude: int | None = None,
) -> list[str]:
    if assignee is None:
        return []
    others = (
        Schedule.objects.filter(
            assignee=assignee,
            status__in=ACTIVE_STATUSES,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
        .exclude(channel=channel)
        .select_related("channel")
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    return [
        _("%(user)s is also assigned to “%(title)s” on %(channel)s at the same time (%(start)s).")
        % {
            "user": assignee.get_username(),
            "title": other.title,
            "channel": other.channel.name,
            "start": local_text(other.starts_at),
        }
        for other in others[:5]
    ]


def _occurrences(
    *, starts_at: datetime, ends_at: datetime, repeat: WeeklyRule | None
) -> list[tuple[datetime, datetime]]:
    """The first occurrence and, for a weekly rule, every later one up to its last day; the
    local wall-clock time is kept across daylight-saving changes."""
    if repeat is None:
        return [(starts_at, ends_at)]
    if not repeat.weekdays or not repeat.weekdays <= set(range(7)):
        raise _refuse(_("Choose the days of the week to repeat on (Monday to Sunday)."), "repeat")
    local_start = timezone.localtime(starts_at)
    if repeat.until < local_start.date():
        raise _refuse(_("The repeat ends before the first broadcast."), "repeat")
    length = ends_at - starts_at
    zone = timezone.get_current_timezone()
    out = []
    day = local_start.date()
    while day <= repeat.until:
        if day == local_start.date() or day.weekday() in repeat.weekdays:
            start = datetime.combine(day, time(local_start.hour, local_start.minute), tzinfo=zone)
            start = start.replace(second=local_start.second)
            out.append((start, start + length))
        if len(out) > settings.SCHEDULING_MAX_OCCURRENCES:
            raise _refuse(
                _("A weekly rule makes at most %(n)s schedules: end it earlier.")
                % {"n": settings.SCHEDULING_MAX_OCCURRENCES},
                "repeat",
            )
        day += timedelta(days=1)
    return out


def _step_rows(schedule: Schedule, now: datetime) -> list[ScheduleStep]:
    """The four steps. A check whose time has passed at creation is skipped, except the
    latest one before the start, which is due now; a start in the past (an emergency) is
    due now."""
    rows = []
    starts_at = schedule.starts_at
    passed = [k for k, off in CHECK_OFFSETS.items() if starts_at - off <= now]
    for kind, offset in CHECK_OFFSETS.items():
        due = starts_at - offset
        state = State.PENDING
        if due <= now:
            if now < starts_at and kind == passed[-1]:
                due = now
            else:
                state = State.SKIPPED
        rows.append(ScheduleStep(schedule=schedule, kind=kind, due_at=due, state=state))
    rows.append(
        ScheduleStep(
            schedule=schedule, kind=Kind.START, due_at=max(starts_at, min(now, schedule.ends_at))
        )
    )
    rows.append(ScheduleStep(schedule=schedule, kind=Kind.STOP, due_at=schedule.ends_at))
    return rows


def schedule_validate(
    *,
    title: str,
    channel: LiveChannel,
    starts_at: datetime,
    ends_at: datetime,
    allow_past: bool = False,
    repeat: WeeklyRule | None = None,
    exclude: int | None = None,
    now: datetime | None = None,
) -> list[tuple[datetime, datetime]]:
    """Every refusal of a create (or a move, with ``exclude``), writing nothing: the admin's
    form shows them beside its fields. Returns the occurrences."""
    now = now or timezone.now()
    if not title.strip():
        raise _refuse(_("Give the schedule a title."), "title")
    if channel.removed_at is not None:
        raise _refuse(
            _("The channel %(name)s no longer exists in the cloud.") % {"name": channel.name},
            "channel",
        )
    _times_check(starts_at=starts_at, ends_at=ends_at, allow_past=allow_past, now=now)
    occurrences = _occurrences(starts_at=starts_at, ends_at=ends_at, repeat=repeat)
    for (_s, earlier_end), (later_start, _e) in pairwise(occurrences):
        if later_start < earlier_end:
            raise _refuse(
                _("The repeats overlap each other: a broadcast is longer than a day."), "repeat"
            )
    for start, end in occurrences:
        _overlap_check(channel=channel, starts_at=start, ends_at=end, exclude=exclude)
    return occurrences


def schedule_create(
    *,
    title: str,
    channel: LiveChannel,
    starts_at: datetime,
    ends_at: datetime,
    assignee: User | None = None,
    auto_start: bool = False,
    auto_stop: bool = False,
    block_on_failed_check: bool = False,
    notes: str = "",
    allow_past: bool = False,
    repeat: WeeklyRule | None = None,
    created_by: User | None = None,
    now: datetime | None = None,
) -> ScheduleResult:
    """Create a schedule (or one per occurrence of ``repeat``) with its steps, or refuse."""
    now = now or timezone.now()
    title = title.strip()
    schedule_validate(
        title=title,
        channel=channel,
        starts_at=starts_at,
        ends_at=ends_at,
        allow_past=allow_past,
        repeat=repeat,
        now=now,
    )
    occurrences = _occurrences(starts_at=starts_at, ends_at=ends_at, repeat=repeat)
    series = uuid.uuid4().hex if repeat is not None else ""
    warnings: list[str] = []
    created: list[Schedule] = []
    with transaction.atomic():
        # Creations on one channel take turns, so two at once cannot both miss the overlap.
        LiveChannel.objects.select_for_update().filter(pk=channel.pk).first()
        for start, end in occurrences:
            _overlap_check(channel=channel, starts_at=start, ends_at=end)
            warnings += _assignee_warnings(
                assignee=assignee, channel=channel, starts_at=start, ends_at=end
            )
            schedule = Schedule.objects.create(
                title=title,
                channel=channel,
                starts_at=start,
                ends_at=end,
                assignee=assignee,
                auto_start=auto_start,
                auto_stop=auto_stop,
                block_on_failed_check=block_on_failed_check,
                notes=notes,
                series=series,
                created_by=created_by,
            )
            ScheduleStep.objects.bulk_create(_step_rows(schedule, now))
            created.append(schedule)
    logger.info(
        "Schedule %s created on %s (%s occurrences)",
        created[0].pk,
        channel.cloud_id,
        len(created),
    )
    return ScheduleResult(schedules=created, warnings=warnings)


UPDATABLE = {"title", "assignee", "auto_start", "auto_stop", "block_on_failed_check", "notes"}


def schedule_update(
    *,
    schedule: Schedule,
    changes: dict[str, Any],
    allow_past: bool = False,
    now: datetime | None = None,
) -> ScheduleResult:
    """Change a schedule. Moving it moves its steps that have not begun (a check moved to a
    later time runs again); a schedule on air keeps its start and changes only its end."""
    now = now or timezone.now()
    unknown = set(changes) - UPDATABLE - {"starts_at", "ends_at", "channel"}
    if unknown:
        raise _refuse(
            _("These fields cannot be changed: %(names)s.") % {"names": ", ".join(sorted(unknown))},
            sorted(unknown)[0],
        )
    warnings: list[str] = []
    with transaction.atomic():
        current = Schedule.objects.select_for_update().get(pk=schedule.pk)
        if not current.active:
            raise Conflict(
                _("“%(title)s” is %(status)s: it can no longer be changed.")
                % {"title": current.title, "status": current.get_status_display()},
                code="not_active",
            )
        on_air = current.status == Status.ON_AIR
        channel = changes.get("channel", current.channel)
        starts_at = changes.get("starts_at", current.starts_at)
        ends_at = changes.get("ends_at", current.ends_at)
        if on_air:
            if channel != current.channel:
                raise Conflict(
                    _("“%(title)s” is on air: its channel cannot change.")
                    % {"title": current.title},
                    code="on_air",
                )
            if starts_at != current.starts_at:
                warnings.append(_("The schedule is on air: only its end was changed."))
                starts_at = current.starts_at
            if ends_at <= now:
                raise _refuse(
                    _("The schedule is on air: its new end must be in the future."), "ends_at"
                )
        moved = (starts_at, ends_at, channel) != (
            current.starts_at,
            current.ends_at,
            current.channel,
        )
        if moved:
            if not on_air:
                _times_check(starts_at=starts_at, ends_at=ends_at, allow_past=allow_past, now=now)
            elif ends_at <= starts_at:
                raise _refuse(_("The end must be after the start."), "ends_at")
            LiveChannel.objects.select_for_update().filter(pk=channel.pk).first()
            _overlap_check(
                channel=channel, starts_at=starts_at, ends_at=ends_at, exclude=current.pk
            )
        for name in UPDATABLE & set(changes):
            setattr(current, name, changes[name])
        if isinstance(current.title, str) and not current.title.strip():
            raise _refuse(_("Give the schedule a title."), "title")
        current.starts_at, current.ends_at, current.channel = starts_at, ends_at, channel
        current.save()
        if moved:
            _steps_move(current, now)
        warnings += _assignee_warnings(
            assignee=current.assignee,
            channel=current.channel,
            starts_at=current.starts_at,
            ends_at=current.ends_at,
            exclude=current.pk,
        )
    return ScheduleResult(schedules=[current], warnings=warnings)


def _steps_move(schedule: Schedule, now: datetime) -> None:
    planned = {row.kind: row for row in _step_rows(schedule, now)}
    for step in ScheduleStep.objects.filter(schedule=schedule):
        plan = planned[step.kind]
        if step.state in NOT_BEGUN or (
            step.kind in CHECK_OFFSETS and plan.state == State.PENDING and plan.due_at > now
        ):
            # A step not begun moves; a check that ran for the old time runs again.
            ScheduleStep.objects.filter(pk=step.pk, state=step.state).update(
                due_at=plan.due_at, state=plan.state, claimed_at=None
            )


def schedule_cancel(*, schedule: Schedule) -> Schedule:
    """Cancel a schedule that is not on air; its steps that have not begun are cancelled."""
    with transaction.atomic():
        cancelled = Schedule.objects.filter(
            pk=schedule.pk, status__in=(Status.SCHEDULED, Status.CHECKING)
        ).update(status=Status.CANCELLED, updated_at=timezone.now())
        current = Schedule.objects.get(pk=schedule.pk)
        if cancelled != 1:
            if current.status == Status.ON_AIR:
                message = _(
                    "“%(title)s” is on air: stop the channel or move the end of the schedule."
                ) % {"title": current.title}
            else:
                message = _("“%(title)s” is %(status)s: there is nothing to cancel.") % {
                    "title": current.title,
                    "status": current.get_status_display(),
                }
            raise Conflict(message, code="not_cancellable")
        ScheduleStep.objects.filter(schedule=schedule, state__in=NOT_BEGUN).update(
            state=State.CANCELLED, finished_at=timezone.now()
        )
    logger.info("Schedule %s cancelled", schedule.pk)
    return current
