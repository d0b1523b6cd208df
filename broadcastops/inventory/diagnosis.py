"""The full-status diagnosis: one line per service, a probable cause, recommended actions.

Rules read across the services the way an experienced operator does (seed 003): StreamLive
stopped while StreamLink runs means the encoder stopped; StreamLive on BACKUP with the MAIN
StreamLink flow idle means the MAIN contribution was lost; and so on. Pure functions over the
synced rows: no cloud call, so ``ops_status`` answers instantly and the same way everywhere.
Every sentence is a ``Message`` (``broadcastops.i18n``): it becomes text in the reader's
language when the dashboard, the admin, the API or ``ops_status`` shows it.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from broadcastops.i18n import Message, Text, choice_message
from broadcastops.inventory import messages as m
from broadcastops.inventory.attention import channel_attention_reasons
from broadcastops.inventory.models import (
    CssStream,
    FailoverEvent,
    Health,
    InputRole,
    LinkFlow,
    LiveChannel,
)


@dataclass(frozen=True)
class ServiceLine:
    service: str  # StreamLive, StreamLink, StreamPackage, CSS (product names)
    ok: bool
    facts: tuple[Message, ...]

    @property
    def text(self) -> str:
        """The facts in the active language."""
        return "; ".join(f.render() for f in self.facts)


@dataclass
class Diagnosis:
    """One channel's status across the services, in messages: text only when read."""

    channel_id: str
    channel_name: str
    health: str
    state: str
    active_input: str
    lines: list[ServiceLine]
    cause: Message
    actions: list[Message]
    attention: list[Message] = field(default_factory=list)
    failovers_24h: int = 0
    last_failover_at: datetime | None = None
    stale_since: datetime | None = None

    @property
    def needs_attention(self) -> bool:
        return bool(self.attention)

    @property
    def attention_also(self) -> list[Message]:
        """The reasons the cause does not already give and the health badge does not show."""
        said = {m.ATTENTION_HEALTH.code}
        if self.cause.code == m.CAUSE_UNPROTECTED.code:
            said.add(m.ATTENTION_UNPROTECTED.code)
        if self.cause.code == m.CAUSE_STALE.code:
            said.add(m.ATTENTION_STALE.code)
        return [r for r in self.attention if r.code not in said]

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines) and not self.attention

    @property
    def state_label(self) -> Message:
        return choice_message(m.CHANNEL_STATE, self.state)

    @property
    def health_label(self) -> Message:
        return choice_message(m.HEALTH, self.health)

    @property
    def input_label(self) -> Message:
        return choice_message(m.INPUT, self.active_input)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, every sentence rendered in the active language."""
        return {
            "channel_id": self.channel_id,
            "channel_name": self.channel_name,
            "health": self.health,
            "health_label": self.health_label.render(),
            "state": self.state,
            "state_label": self.state_label.render(),
            "active_input": self.active_input,
            "input_label": self.input_label.render(),
            "ok": self.ok,
            "needs_attention": self.needs_attention,
            "attention": [r.render() for r in self.attention],
            "lines": [
                {"service": line.service, "ok": line.ok, "facts": line.text} for line in self.lines
            ],
            "cause": self.cause.render(),
            "actions": [a.render() for a in self.actions],
            "failovers_24h": self.failovers_24h,
            "last_failover_at": _iso(self.last_failover_at),
            "stale_since": _iso(self.stale_since),
        }


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _local(when: datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S %Z")


def _flows_by_role(flows: list[LinkFlow]) -> dict[str, list[LinkFlow]]:
    grouped: dict[str, list[LinkFlow]] = {}
    for flow in flows:
        grouped.setdefault(flow.role, []).append(flow)
    return grouped


def _running(flows: list[LinkFlow]) -> bool:
    return bool(flows) and all(f.state == LinkFlow.State.RUNNING for f in flows)


def _live_facts(channel: LiveChannel) -> tuple[Message, ...]:
    pipelines = channel.pipelines or []
    state = choice_message(m.CHANNEL_STATE, channel.state)
    active = choice_message(m.INPUT, channel.active_input)
    if pipelines:
        roles = [
            m.FACTS_PIPELINE(pipeline=p["pipeline"], role=choice_message(m.INPUT, p["role"]))
            for p in pipelines
        ]
        facts = [m.FACTS_LIVE_PIPELINES(state=state, input=active, pipelines=roles)]
    else:
        facts = [m.FACTS_LIVE(state=state, input=active)]
    alerts = [a for p in pipelines for a in p.get("alerts", [])]
    if alerts:
        # Alert types are the cloud's identifiers (RTMP Stream Not Found...): shown as they are.
        types = "; ".join(a["type"] for a in alerts[:3])
        facts.append(m.FACTS_ALERTS(count=len(alerts), types=types))
    if channel.stale_since is not None:
        facts.append(m.FACTS_STALE(since=_local(channel.stale_since)))
    return tuple(facts)


def channel_diagnose(
    *,
    channel: LiveChannel,
    flows: list[LinkFlow],
    failovers: list[FailoverEvent],
    now: datetime,
) -> Diagnosis:
    """Diagnose one channel from its synced rows (flows feeding it, failovers of 24 h)."""
    by_role = _flows_by_role(flows)
    main_flows = by_role.get(InputRole.MAIN, [])
    running = channel.state == LiveChannel.State.RUNNING
    roles = [p.get("role", InputRole.UNKNOWN) for p in channel.pipelines or []]
    stale = channel.stale_since is not None

    # --- one line per service ------------------------------------------------------------
    lines = [
        ServiceLine(
            "StreamLive",
            running and channel.health == Health.GREEN and not stale,
            _live_facts(channel),
        )
    ]
    if flows:
        flow_facts = [
            m.FACTS_FLOW(
                name=f.name,
                role=choice_message(m.INPUT, f.role),
                state=choice_message(m.FLOW_STATE, f.state),
            )
            for f in flows
        ]
        lines.append(ServiceLine("StreamLink", _running(flows), tuple(flow_facts)))
    else:
        lines.append(ServiceLine("StreamLink", False, (m.FACTS_NO_FLOW(),)))
    package = channel.package_channel
    if package is not None:
        lines.append(ServiceLine("StreamPackage", running, (m.FACTS_PACKAGE(name=package.name),)))
    else:
        lines.append(ServiceLine("StreamPackage", False, (m.FACTS_NO_PACKAGE(),)))
    css = channel.css_stream
    if css is not None:
        css_facts = m.FACTS_CSS(stream=str(css), state=choice_message(m.CSS_STATE, css.state))
        lines.append(ServiceLine("CSS", css.state == CssStream.State.ACTIVE, (css_facts,)))
    else:
        lines.append(ServiceLine("CSS", False, (m.FACTS_NO_CSS(),)))

    # --- probable cause and actions (first matching rule wins) ----------------------------
    cause, actions = _cause(channel, running, roles, main_flows, flows, css, stale)
    if channel.input_protected is False and cause.code != m.CAUSE_UNPROTECTED.code:
        # Another cause comes first, but losing MAIN would still not switch to BACKUP.
        if channel.on_air:
            actions.append(m.DO_PROTECT(name=channel.name))
        else:
            actions.append(
                m.NOTE_PROTECT_BEFORE_AIR(name=channel.name, reason=_protection(channel))
            )

    last = max((f.occurred_at for f in failovers), default=None)
    failover_count = sum(1 for f in failovers if f.kind == FailoverEvent.Kind.FAILOVER)
    return Diagnosis(
        channel_id=channel.cloud_id,
        channel_name=channel.name,
        health=channel.health,
        state=channel.state,
        active_input=channel.active_input,
        lines=lines,
        cause=cause,
        actions=actions,
        attention=channel_attention_reasons(channel),
        failovers_24h=failover_count,
        last_failover_at=last,
        stale_since=channel.stale_since,
    )


def _cause(
    channel: LiveChannel,
    running: bool,
    roles: list[str],
    main_flows: list[LinkFlow],
    flows: list[LinkFlow],
    css: CssStream | None,
    stale: bool,
) -> tuple[Message, list[Message]]:
    name = channel.name
    if stale:
        return m.CAUSE_STALE(), [m.DO_CHECK_CLOUD(), m.DO_CHECK_IN_CONSOLE(name=name)]
    if channel.state == LiveChannel.State.IDLE and _running(flows):
        return m.CAUSE_ENCODER_STOPPED(), [
            m.DO_START_AND_CHECK_MAIN(name=name),
            m.DO_CHECK_WHO_STOPPED(),
        ]
    if channel.state == LiveChannel.State.IDLE:
        return m.CAUSE_OFF_AIR(), [m.DO_START_FLOWS_THEN_CHANNEL(name=name)]
    if not running:
        state = choice_message(m.CHANNEL_STATE, channel.state)
        return m.CAUSE_TRANSITION(state=state), [m.DO_WAIT()]
    if roles and all(r == InputRole.NONE for r in roles):
        if flows and not any(f.state == LinkFlow.State.RUNNING for f in flows):
            return m.CAUSE_NO_CONTRIBUTION(), [m.DO_START_MAIN_FLOW()]
        return m.CAUSE_NO_INPUT(), [m.DO_CHECK_ENCODERS(), m.DO_CHECK_FLOW_INPUTS()]
    if InputRole.BACKUP in roles:
        if main_flows and not _running(main_flows):
            return m.CAUSE_MAIN_CONTRIBUTION_LOST(), [
                m.DO_START_MAIN_FLOWS(flows=", ".join(f.name for f in main_flows)),
                m.DO_SWITCH_BACK_TO_MAIN(),
            ]
        return m.CAUSE_MAIN_LOST_UPSTREAM(), [m.DO_CHECK_MAIN_UPSTREAM(), m.DO_CURRENT_PREFERRED()]
    if InputRole.NONE in roles:
        down = ", ".join(str(i) for i, r in enumerate(roles) if r == InputRole.NONE)
        return m.CAUSE_PIPELINE_WITHOUT_INPUT(pipelines=down), [m.DO_CHECK_PIPELINE_PUSH()]
    if css is not None and css.state != CssStream.State.ACTIVE:
        state = choice_message(m.CSS_STATE, css.state)
        return m.CAUSE_DELIVERY(stream=str(css), state=state), [
            m.DO_CHECK_OUTPUT_GROUP(),
            m.DO_RESUME_STREAM(),
        ]
    if channel.input_protected is False:
        return m.CAUSE_UNPROTECTED(reason=_protection(channel)), [m.DO_PROTECT(name=name)]
    return m.CAUSE_HEALTHY(), []


def _protection(channel: LiveChannel) -> Message:
    """Why the failover audit found the channel unprotected (its own stored message)."""
    return Message.from_json(channel.input_protection_reason or "") or Text("-")
