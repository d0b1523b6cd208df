"""The structured outputs of the MCP tools (each tool's ``outputSchema``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ChannelSummary(BaseModel):
    id: str = Field(description="StreamLive channel id")
    name: str
    state: str = Field(description="RUNNING, IDLE, STARTING, STOPPING, ...")
    state_label: str
    health: str = Field(description="green, amber, red, idle, unknown")
    health_label: str
    active_input: str = Field(description="MAIN, BACKUP or NONE")
    needs_attention: bool
    attention: list[str]


class FullStatus(BaseModel):
    streamlive_by_state: dict[str, int]
    streamlive_by_input: dict[str, int]
    streamlink_by_state: dict[str, int]
    css_by_state: dict[str, int]
    package_channels_linked: int
    attention: int = Field(description="channels needing attention")
    failovers_24h: int
    unreachable_services: list[str]
    channels: list[ChannelSummary] = Field(description="needing attention first")


class ChannelList(BaseModel):
    count: int
    channels: list[ChannelSummary]


class ServiceLineOut(BaseModel):
    service: str
    ok: bool
    facts: str


class ChannelStatus(BaseModel):
    channel_id: str
    channel_name: str
    health: str
    health_label: str
    state: str
    active_input: str
    ok: bool
    needs_attention: bool
    attention: list[str]
    lines: list[ServiceLineOut]
    cause: str
    actions: list[str]
    failovers_24h: int
    last_failover_at: str | None


class AttachedInputOut(BaseModel):
    id: str
    name: str
    role: str


class InputEventOut(BaseModel):
    kind: str
    pipeline: int | None
    occurred_at: str


class InputStatus(BaseModel):
    channel_id: str
    channel_name: str
    active_input: str
    input_label: str
    protected: bool | None
    attached_inputs: list[AttachedInputOut]
    failovers_24h: int
    last_event: InputEventOut | None


class WriteResult(BaseModel):
    """A write tool's answer: the plan (a dry run), or what became of the request."""

    tool: str
    target: str
    dry_run: bool
    status: Literal["plan", "begun", "created", "refused", "cancelled", "denied", "expired"]
    plan: list[str]
    guards: list[str] = Field(description="reasons a schedule (or another guard) objects")
    busy: bool = Field(description="another action is running on the target")
    action_id: int | None = None
    schedule_ids: list[int] = Field(default_factory=list)
    approval_id: int | None = None
    approved_by: str | None = None
    message: str = ""


class ScheduleOut(BaseModel):
    id: int
    title: str
    channel: str
    starts_at: str
    ends_at: str
    status: str
    assignee: str | None
    auto_start: bool
    auto_stop: bool


class ScheduleList(BaseModel):
    count: int
    schedules: list[ScheduleOut]


class PackageOut(BaseModel):
    id: str
    name: str
    protocol: str
    input_urls: list[str] = Field(description="stream keys masked unless Operator")
    live_channels: list[ChannelSummary]


class PackageList(BaseModel):
    count: int
    channels: list[PackageOut]


class CssOut(BaseModel):
    key: str = Field(description="domain/app/stream")
    domain: str
    app_name: str
    stream_name: str
    state: str
    pushed_since: str | None
    live_channels: list[ChannelSummary]


class CssList(BaseModel):
    count: int
    streams: list[CssOut]


class AuditRow(BaseModel):
    channel: str
    channel_id: str
    verdict: str
    protected: bool
    reason: str
    audited_at: str


class FailoverAuditOut(BaseModel):
    count: int
    unprotected: int
    channels: list[AuditRow]


class FailoverPlanOut(BaseModel):
    channel: str
    channel_id: str
    verdict: str
    reason: str
    has_changes: bool
    diff: list[str]
    notes: list[str]


class BroadcastOut(BaseModel):
    schedule_id: int
    title: str
    channel: str
    status: str
    starts_at: str
    ends_at: str
    on_air_s: int


class DailyReportOut(BaseModel):
    day: str
    completed: int
    interrupted: int
    missed: int
    failovers: int
    incidents: int
    total_on_air_s: int
    broadcasts: list[BroadcastOut]


class KpiOut(BaseModel):
    channel: str = Field(description='"" for the overall row')
    availability: float | None
    broadcasts: int
    failovers: int
    failover_rate: float | None
    incidents: int
    mttr_s: int | None
    automation_rate: float | None


class KpisOut(BaseModel):
    starts: str
    ends: str
    overall: KpiOut
    channels: list[KpiOut]


class IncidentOut(BaseModel):
    id: int
    scope: str
    state: str
    verdict: str
    viewers: int
    reports: int
    streams: list[str]
    opened_at: str


class IncidentList(BaseModel):
    count: int
    incidents: list[IncidentOut]


class StageOut(BaseModel):
    name: str
    role: str
    state: str
    viewers: int


class ShowStatusOut(BaseModel):
    name: str
    state: str
    viewers: int
    publishing: bool | None
    stages: list[StageOut]
