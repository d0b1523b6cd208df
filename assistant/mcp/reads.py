"""The MCP read tools' bodies: one selector call each, rendered as a structured output and a
short sentence in the active language. Synchronous (the ORM); the server runs them in a
thread."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from assistant.mcp import outputs as o
from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.errors import ValidationFailed
from broadcastops.inventory import selectors as inventory
from broadcastops.inventory.diagnosis import Diagnosis
from broadcastops.inventory.models import FailoverEvent, LiveChannel
from broadcastops.masking import secrets_mask
from errorlogs.selectors import incident_list
from failover.selectors import failover_audit_list
from failover.services import failover_plan as failover_plan_build
from ivs_scaling import selectors as ivs
from scheduling.kpis import kpis_get
from scheduling.models import Schedule
from scheduling.reports import daily_report_get, day_bounds
from scheduling.selectors import schedule_list, schedule_upcoming

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Answer = tuple[object, str]


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _summary(d: Diagnosis) -> o.ChannelSummary:
    return o.ChannelSummary(
        id=d.channel_id,
        name=d.channel_name,
        state=d.state,
        state_label=d.state_label.render(),
        health=d.health,
        health_label=d.health_label.render(),
        active_input=d.active_input,
        needs_attention=d.needs_attention,
        attention=[r.render() for r in d.attention],
    )


def _channel_summaries(channels: list[LiveChannel]) -> list[o.ChannelSummary]:
    return [_summary(inventory.channel_status_get(channel=c)) for c in channels]


def full_status() -> tuple[o.FullStatus, str]:
    report = inventory.status_get()
    s = report.summary
    out = o.FullStatus(
        streamlive_by_state=s["streamlive"]["by_state"],
        streamlive_by_input=s["streamlive"]["by_input"],
        streamlink_by_state=s["streamlink"]["by_state"],
        css_by_state=s["css"]["by_state"],
        package_channels_linked=s["streampackage"]["channels"],
        attention=s["attention"],
        failovers_24h=s["failovers_24h"],
        unreachable_services=[x["name"] for x in s["services"] if x["stale_since"]],
        channels=[_summary(d) for d in report.channels],
    )
    text = _(
        "%(n)s channels: %(running)s running; %(attention)s need attention; "
        "%(failovers)s failovers in 24 h."
    ) % {
        "n": len(report.channels),
        "running": s["streamlive"]["by_state"].get("RUNNING", 0),
        "attention": s["attention"],
        "failovers": s["failovers_24h"],
    }
    return out, text


def channels_list(*, status: str) -> tuple[o.ChannelList, str]:
    """``status``: a StreamLive state (RUNNING, IDLE...), an input (MAIN, BACKUP, NONE),
    ``attention``, or "" for all."""
    key = status.strip()
    report = inventory.status_get()
    rows = report.channels
    if key.lower() == "attention":
        rows = [d for d in rows if d.needs_attention]
    elif key.upper() in {"MAIN", "BACKUP", "NONE"}:
        rows = [d for d in rows if d.active_input == key.upper()]
    elif key:
        states = set(LiveChannel.State.values)
        if key.upper() not in states:
            raise ValidationFailed(
                _(
                    "Unknown status %(status)s: use a state (%(states)s), MAIN, "
                    "BACKUP, NONE or attention."
                )
                % {"status": key, "states": ", ".join(sorted(states))}
            )
        rows = [d for d in rows if d.state == key.upper()]
    out = o.ChannelList(count=len(rows), channels=[_summary(d) for d in rows])
    names = ", ".join(d.channel_name for d in rows[:10])
    return out, _("%(n)s channels: %(names)s") % {"n": len(rows), "names": names or "-"}


def channel_status(*, channel: str) -> tuple[o.ChannelStatus, str]:
    d = inventory.channel_status_get(channel=inventory.channel_get(key=channel))
    out = o.ChannelStatus(
        channel_id=d.channel_id,
        channel_name=d.channel_name,
        health=d.health,
        health_label=d.health_label.render(),
        state=d.state,
        active_input=d.active_input,
        ok=d.ok,
        needs_attention=d.needs_attention,
        attention=[r.render() for r in d.attention],
        lines=[o.ServiceLineOut(service=x.service, ok=x.ok, facts=x.text) for x in d.lines],
        cause=d.cause.render(),
        actions=[a.render() for a in d.actions],
        failovers_24h=d.failovers_24h,
        last_failover_at=_iso(d.last_failover_at),
    )
    return out, f"{d.channel_name}: {d.health_label}. " + _("Probable cause: %(cause)s") % {
        "cause": d.cause
    }


def input_status(*, channel: str) -> tuple[o.InputStatus, str]:
    row = inventory.channel_get(key=channel)
    d = inventory.channel_status_get(channel=row)
    last = FailoverEvent.objects.filter(channel=row).order_by("-occurred_at").first()
    out = o.InputStatus(
        channel_id=d.channel_id,
        channel_name=d.channel_name,
        active_input=d.active_input,
        input_label=d.input_label.render(),
        protected=row.input_protected,
        attached_inputs=[
            o.AttachedInputOut(
                id=str(a.get("id", "")), name=str(a.get("name", "")), role=str(a.get("role", ""))
            )
            for a in row.attached_inputs
        ],
        failovers_24h=d.failovers_24h,
        last_event=(
            o.InputEventOut(
                kind=last.kind, pipeline=last.pipeline, occurred_at=last.occurred_at.isoformat()
            )
            if last
            else None
        ),
    )
    text = _("%(name)s on %(input)s; %(n)s failovers in 24 h.") % {
        "name": d.channel_name,
        "input": d.input_label,
        "n": d.failovers_24h,
    }
    return out, text


def _schedule(s: Schedule) -> o.ScheduleOut:
    return o.ScheduleOut(
        id=s.pk,
        title=s.title,
        channel=s.channel.name,
        starts_at=s.starts_at.isoformat(),
        ends_at=s.ends_at.isoformat(),
        status=s.status,
        assignee=s.assignee.get_username() if s.assignee else None,
        auto_start=s.auto_start,
        auto_stop=s.auto_stop,
    )


def _schedule_text(rows: list[Schedule]) -> str:
    first = rows[0] if rows else None
    if first is None:
        return _("No schedules.")
    return _("%(n)s schedules; next: %(title)s on %(channel)s at %(when)s.") % {
        "n": len(rows),
        "title": first.title,
        "channel": first.channel.name,
        "when": timezone.localtime(first.starts_at).strftime("%Y-%m-%d %H:%M"),
    }


def schedules_list(*, days: int) -> tuple[o.ScheduleList, str]:
    rows = list(schedule_list(days=days))
    return o.ScheduleList(count=len(rows), schedules=[_schedule(s) for s in rows]), _schedule_text(
        rows
    )


def schedules_upcoming(*, limit: int) -> tuple[o.ScheduleList, str]:
    rows = schedule_upcoming(limit=limit)
    return o.ScheduleList(count=len(rows), schedules=[_schedule(s) for s in rows]), _schedule_text(
        rows
    )


def _package(p: object, user: User) -> o.PackageOut:
    from broadcastops.inventory.models import PackageChannel

    assert isinstance(p, PackageChannel)
    operator = user_has_role(user, Role.OPERATOR)
    return o.PackageOut(
        id=p.cloud_id,
        name=p.name,
        protocol=p.protocol,
        input_urls=[str(u) if operator else secrets_mask(str(u)) for u in p.input_urls],
        live_channels=_channel_summaries(list(p.channels.filter(removed_at__isnull=True))),
    )


def packages_list(*, user: User) -> tuple[o.PackageList, str]:
    rows = [_package(p, user) for p in inventory.package_channel_list()]
    return o.PackageList(count=len(rows), channels=rows), _("%(n)s StreamPackage channels.") % {
        "n": len(rows)
    }


def package_status(*, channel: str, user: User) -> tuple[o.PackageOut, str]:
    out = _package(inventory.package_channel_get(key=channel), user)
    feeds = ", ".join(f"{c.name} ({c.state_label})" for c in out.live_channels) or "-"
    return out, _("%(name)s is fed by %(feeds)s.") % {"name": out.name or out.id, "feeds": feeds}


def _css(s: object) -> o.CssOut:
    from broadcastops.inventory.models import CssStream

    assert isinstance(s, CssStream)
    return o.CssOut(
        key=f"{s.domain}/{s.app_name}/{s.stream_name}",
        domain=s.domain,
        app_name=s.app_name,
        stream_name=s.stream_name,
        state=s.state,
        pushed_since=_iso(s.publish_started_at),
        live_channels=_channel_summaries(list(s.channels.filter(removed_at__isnull=True))),
    )


def css_list(*, state: str) -> tuple[o.CssList, str]:
    from broadcastops.inventory.models import CssStream

    if state and state not in CssStream.State.values:
        raise ValidationFailed(
            _("Unknown CSS state %(state)s: use %(states)s.")
            % {"state": state, "states": ", ".join(CssStream.State.values)}
        )
    rows = [_css(s) for s in inventory.css_stream_list(state=state)]
    active = sum(1 for s in rows if s.state == CssStream.State.ACTIVE)
    return o.CssList(count=len(rows), streams=rows), _("%(n)s CSS streams, %(active)s pushed.") % {
        "n": len(rows),
        "active": active,
    }


def css_status(*, stream: str) -> tuple[o.CssOut, str]:
    out = _css(inventory.css_stream_get(key=stream))
    return out, f"{out.key}: {out.state}"


def failover_audit() -> tuple[o.FailoverAuditOut, str]:
    rows = [
        o.AuditRow(
            channel=a.channel.name,
            channel_id=a.channel.cloud_id,
            verdict=a.verdict,
            protected=a.protected,
            reason=a.reason_message.render(),
            audited_at=a.audited_at.isoformat(),
        )
        for a in failover_audit_list()
    ]
    unprotected = sum(1 for r in rows if not r.protected)
    out = o.FailoverAuditOut(count=len(rows), unprotected=unprotected, channels=rows)
    names = ", ".join(r.channel for r in rows if not r.protected) or "-"
    return out, _("%(n)s of %(total)s channels unprotected: %(names)s") % {
        "n": unprotected,
        "total": len(rows),
        "names": names,
    }


def failover_plan(*, channel: str) -> tuple[o.FailoverPlanOut, str]:
    plan = failover_plan_build(channel=inventory.channel_get(key=channel)).to_dict()
    out = o.FailoverPlanOut(
        channel=plan["channel"],
        channel_id=plan["channel_id"],
        verdict=plan["verdict"],
        reason=plan["reason"],
        has_changes=plan["has_changes"],
        diff=plan["diff"],
        notes=plan["notes"],
    )
    if out.has_changes:
        text = _("%(name)s: %(reason)s A fix would change its FailOverSettings (see diff).")
    else:
        text = _("%(name)s: %(reason)s Nothing to change.")
    return out, text % {"name": out.channel, "reason": out.reason}


def _day(raw: str) -> date:
    if not raw:
        return timezone.localdate()
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed(
            _("date must be YYYY-MM-DD, not %(value)s.") % {"value": raw[:40]}
        ) from exc


def daily_report(*, day: str) -> tuple[o.DailyReportOut, str]:
    r = daily_report_get(day=_day(day))
    out = o.DailyReportOut(
        day=r.day.isoformat(),
        completed=r.completed,
        interrupted=r.interrupted,
        missed=r.missed,
        failovers=len(r.failovers),
        incidents=len(r.incidents),
        total_on_air_s=r.total_on_air_s,
        broadcasts=[
            o.BroadcastOut(
                schedule_id=b.schedule_id,
                title=b.title,
                channel=b.channel,
                status=b.status,
                starts_at=b.starts_at.isoformat(),
                ends_at=b.ends_at.isoformat(),
                on_air_s=b.on_air_s,
            )
            for b in r.broadcasts
        ],
    )
    text = _(
        "%(day)s: %(completed)s completed, %(interrupted)s interrupted, %(missed)s missed; "
        "%(failovers)s failovers."
    ) % {
        "day": out.day,
        "completed": out.completed,
        "interrupted": out.interrupted,
        "missed": out.missed,
        "failovers": out.failovers,
    }
    return out, text


def _kpi(k: object) -> o.KpiOut:
    from scheduling.kpis import Kpi

    assert isinstance(k, Kpi)
    return o.KpiOut(
        channel=k.channel,
        availability=k.availability,
        broadcasts=k.broadcasts,
        failovers=k.failovers,
        failover_rate=k.failover_rate,
        incidents=k.incidents,
        mttr_s=k.mttr_s,
        automation_rate=k.automation_rate,
    )


def kpis(*, days: int) -> tuple[o.KpisOut, str]:
    if not 1 <= days <= 366:
        raise ValidationFailed(_("days must be between 1 and %(max)s.") % {"max": 366})
    ends = day_bounds(timezone.localdate())[1]
    starts = ends - timedelta(days=days)
    report = kpis_get(starts=starts, ends=ends)
    out = o.KpisOut(
        starts=starts.isoformat(),
        ends=ends.isoformat(),
        overall=_kpi(report.overall),
        channels=[_kpi(k) for k in report.channels],
    )
    availability = out.overall.availability
    shown = f"{availability * 100:.2f}%" if availability is not None else "-"
    return out, _("%(days)s days: availability %(availability)s, %(failovers)s failovers.") % {
        "days": days,
        "availability": shown,
        "failovers": out.overall.failovers,
    }


def incidents(*, state: str) -> tuple[o.IncidentList, str]:
    from errorlogs.models import Incident
    from errorlogs.services.incidents import incident_scope_label

    if state and state not in Incident.State.values:
        raise ValidationFailed(
            _("Unknown incident state %(state)s: use %(states)s.")
            % {"state": state, "states": ", ".join(Incident.State.values)}
        )
    rows = incident_list(state=state)
    out = o.IncidentList(
        count=len(rows),
        incidents=[
            o.IncidentOut(
                id=i.pk,
                scope=str(incident_scope_label(i)),
                state=i.state,
                verdict=i.verdict,
                viewers=i.viewer_count,
                reports=i.report_count,
                streams=list(i.stream_ids),
                opened_at=i.opened_at.isoformat(),
            )
            for i in rows
        ],
    )
    return out, _("%(n)s player-error incidents.") % {"n": len(rows)}


def show_status(*, show: str) -> tuple[o.ShowStatusOut, str]:
    row = ivs.show_get(name=show)
    publisher = ivs.publisher_state(show=row)
    stages = ivs.stage_list(show=row)
    out = o.ShowStatusOut(
        name=row.name,
        state=row.state,
        viewers=ivs.show_viewer_count(show=row),
        publishing=publisher.publishing if publisher else None,
        stages=[
            o.StageOut(name=s.name, role=s.role, state=s.state, viewers=s.viewer_count)
            for s in stages
        ],
    )
    return out, _("%(name)s: %(viewers)s viewers on %(stages)s stages.") % {
        "name": out.name,
        "viewers": out.viewers,
        "stages": len(out.stages),
    }
