"""The MCP write tools' bodies: the dry run (what it will do, the guards that apply) and the
act itself, through the same services as the admin and the API (``broadcastops/actions`` for
the channels). Synchronous (the ORM); the server runs them in a thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from assistant.mcp import outputs as o
from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.actions.models import OperatorAction, Origin
from broadcastops.actions.selectors import action_list
from broadcastops.actions.services import guards_check
from broadcastops.actions.types import Actor, Target
from broadcastops.errors import PermissionDenied, ValidationFailed
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.selectors import channel_get
from broadcastops.inventory.services.actions import channel_restart, channel_start, channel_stop
from scheduling.services import schedule_create, schedule_validate

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CHANNEL_SERVICES = {"start": channel_start, "stop": channel_stop, "restart": channel_restart}


def operator_required(user: User) -> None:
    if not user_has_role(user, Role.OPERATOR):
        raise PermissionDenied(
            _("%(user)s holds no Operator role: this token may only read.")
            % {"user": user.get_username()}
        )


def _plan_lines(verb: str, channel: LiveChannel) -> list[str]:
    lines = {
        "start": [_("Start %(name)s (now %(state)s); wait until it runs; check its input.")],
        "stop": [_("Stop %(name)s (now %(state)s); wait until it is idle. It goes off air.")],
        "restart": [
            _("Stop %(name)s (now %(state)s) and wait until it is idle."),
            _(
                "Start it again, wait until it runs, check its input. "
                "Viewers lose the picture meanwhile."
            ),
        ],
    }[verb]
    return [line % {"name": channel.name, "state": channel.state} for line in lines]


@dataclass(frozen=True)
class ChannelPlan:
    result: o.WriteResult
    channel_id: str


def channel_plan(*, tool: str, verb: str, channel: str, override: bool, user: User) -> ChannelPlan:
    """The dry run of start/stop/restart: what it will do and what objects (guards, busy)."""
    operator_required(user)
    row = channel_get(key=channel)
    target = Target(type="channel", id=row.cloud_id, name=row.name)
    guards = guards_check(target=target, verb=verb, override=True)
    busy = (
        action_list(target_type="channel", target_id=row.cloud_id)
        .filter(status=OperatorAction.Status.RUNNING)
        .exists()
    )
    plan = _plan_lines(verb, row)
    if guards and not override:
        plan.append(
            _("Refused unless override is true: %(reasons)s") % {"reasons": " ".join(guards)}
        )
    if busy:
        plan.append(
            _("Another action is running on %(name)s: this one would be refused.")
            % {"name": row.name}
        )
    return ChannelPlan(
        result=o.WriteResult(
            tool=tool,
            target=row.name,
            dry_run=True,
            status="plan",
            plan=plan,
            guards=guards,
            busy=busy,
        ),
        channel_id=row.cloud_id,
    )


def mcp_actor(user: User, client: str, approved_by: str | None) -> Actor:
    ref = client or "mcp"
    if approved_by:
        ref += " " + _("approved by %(who)s") % {"who": approved_by}
    return Actor.of(user, Origin.MCP, ref[:200])


def channel_act(
    *, verb: str, channel_id: str, override: bool, user: User, client: str, approved_by: str | None
) -> OperatorAction:
    operator_required(user)
    return CHANNEL_SERVICES[verb](
        channel=channel_get(key=channel_id),
        actor=mcp_actor(user, client, approved_by),
        override=override,
    )


@dataclass(frozen=True)
class ScheduleSpec:
    channel: LiveChannel
    title: str
    starts_at: datetime
    ends_at: datetime
    assignee: User | None
    auto_start: bool
    auto_stop: bool
    notes: str


def _when(raw: str, field: str) -> datetime:
    value = parse_datetime(raw.strip())
    if value is None:
        raise ValidationFailed(
            _(
                "%(field)s must be a date and time like 2026-12-02T23:00 (in %(zone)s "
                "unless it says)."
            )
            % {"field": field, "zone": timezone.get_current_timezone_name()},
            detail={"field": field},
        )
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def schedule_spec(
    *,
    channel: str,
    title: str,
    starts_at: str,
    ends_at: str,
    assignee: str,
    auto_start: bool,
    auto_stop: bool,
    notes: str,
) -> ScheduleSpec:
    person = None
    if assignee:
        person = get_user_model().objects.filter(username=assignee, is_active=True).first()
        if person is None:
            raise ValidationFailed(
                _("No console user %(name)s.") % {"name": assignee}, detail={"field": "assignee"}
            )
    return ScheduleSpec(
        channel=channel_get(key=channel),
        title=title,
        starts_at=_when(starts_at, "starts_at"),
        ends_at=_when(ends_at, "ends_at"),
        assignee=person,
        auto_start=auto_start,
        auto_stop=auto_stop,
        notes=notes,
    )


def schedule_plan(*, spec: ScheduleSpec, user: User) -> o.WriteResult:
    """The dry run of create_schedule: the schedule's own checks (overlap, times) run now."""
    operator_required(user)
    schedule_validate(
        title=spec.title.strip(),
        channel=spec.channel,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        allow_past=False,
        repeat=None,
        now=timezone.now(),
    )
    local = "%Y-%m-%d %H:%M"
    plan = [
        _("Create “%(title)s” on %(channel)s from %(starts)s to %(ends)s (%(zone)s).")
        % {
            "title": spec.title.strip(),
            "channel": spec.channel.name,
            "starts": timezone.localtime(spec.starts_at).strftime(local),
            "ends": timezone.localtime(spec.ends_at).strftime(local),
            "zone": timezone.get_current_timezone_name(),
        }
    ]
    if spec.assignee:
        plan.append(_("Assigned to %(name)s.") % {"name": spec.assignee.get_username()})
    if spec.auto_start or spec.auto_stop:
        plan.append(
            _("The console will start it: %(start)s; stop it: %(stop)s.")
            % {
                "start": _("yes") if spec.auto_start else _("no"),
                "stop": _("yes") if spec.auto_stop else _("no"),
            }
        )
    return o.WriteResult(
        tool="create_schedule",
        target=spec.channel.name,
        dry_run=True,
        status="plan",
        plan=plan,
        guards=[],
        busy=False,
    )


def schedule_act(*, spec: ScheduleSpec, user: User) -> list[int]:
    operator_required(user)
    result = schedule_create(
        title=spec.title,
        channel=spec.channel,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        assignee=spec.assignee,
        auto_start=spec.auto_start,
        auto_stop=spec.auto_stop,
        notes=spec.notes,
        created_by=user,
    )
    return [s.pk for s in result.schedules]
