"""The full-status diagnosis: one line per service, a probable cause, recommended actions.

Rules read across the services the way an experienced operator does (seed 003): StreamLive
stopped while StreamLink runs means the encoder stopped; StreamLive on BACKUP with the MAIN
StreamLink flow idle means the MAIN contribution was lost; and so on. Pure functions over the
synced rows: no cloud call, so ``ops_status`` answers instantly and the same way everywhere.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime

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
    service: str  # StreamLive, StreamLink, StreamPackage, CSS
    ok: bool
    facts: str


@dataclass
class Diagnosis:
    channel_id: str
    channel_name: str
    health: str
    state: str
    active_input: str
    lines: list[ServiceLine]
    cause: str
    actions: list[str]
    warnings: list[str] = field(default_factory=list)
    failovers_24h: int = 0
    last_failover_at: datetime | None = None
    stale_since: datetime | None = None

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines) and not self.warnings

    def as_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        for key in ("last_failover_at", "stale_since"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _flows_by_role(flows: list[LinkFlow]) -> dict[str, list[LinkFlow]]:
    grouped: dict[str, list[LinkFlow]] = {}
    for flow in flows:
        grouped.setdefault(flow.role, []).append(flow)
    return grouped


def _running(flows: list[LinkFlow]) -> bool:
    return bool(flows) and all(f.state == LinkFlow.State.RUNNING for f in flows)


def _failover_misconfigured(channel: LiveChannel) -> bool:
    """True when failover is toggled on with no backup chosen anywhere on the channel."""
    secondaries = {
        (a.get("failover") or {}).get("SecondaryInputId") for a in channel.attached_inputs
    }
    return any(
        a.get("failover") is not None
        and not a["failover"].get("SecondaryInputId")
        and a["id"] not in secondaries
        for a in channel.attached_inputs
    )


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
    backup_flows = by_role.get(InputRole.BACKUP, [])
    running = channel.state == LiveChannel.State.RUNNING
    pipelines = channel.pipelines or []
    roles = [p.get("role", InputRole.UNKNOWN) for p in pipelines]
    stale = channel.stale_since is not None

    # --- one line per service ------------------------------------------------------------
    alerts = [a for p in pipelines for a in p.get("alerts", [])]
    live_facts = f"{channel.state}, input {channel.active_input}"
    if pipelines:
        live_facts += (
            " (" + ", ".join(f"pipeline {p['pipeline']}: {p['role']}" for p in pipelines) + ")"
        )
    if alerts:
        live_facts += f"; {len(alerts)} active alert(s): " + "; ".join(
            a["type"] for a in alerts[:3]
        )
    if stale:
        live_facts += f"; data stale since {channel.stale_since:%Y-%m-%d %H:%M:%S %Z}"
    lines = [
        ServiceLine(
            "StreamLive",
            running and channel.health == Health.GREEN and not stale,
            live_facts,
        )
    ]
    if flows:
        flow_facts = ", ".join(f"{f.name} ({f.role}) {f.state}" for f in flows)
        lines.append(ServiceLine("StreamLink", _running(flows), flow_facts))
    else:
        lines.append(ServiceLine("StreamLink", False, "no flow feeds this channel's inputs"))
    package = channel.package_channel
    if package is not None:
        lines.append(ServiceLine("StreamPackage", running, f"linked to {package.name}"))
    else:
        lines.append(ServiceLine("StreamPackage", False, "no StreamPackage channel linked"))
    css = channel.css_stream
    if css is not None:
        lines.append(ServiceLine("CSS", css.state == CssStream.State.ACTIVE, f"{css} {css.state}"))
    else:
        lines.append(ServiceLine("CSS", False, "no CSS stream linked"))

    # --- probable cause and actions (first matching rule wins) ----------------------------
    warnings = []
    if _failover_misconfigured(channel):
        warnings.append(
            "Input failover is switched on but no backup input is selected: the channel has "
            "no input protection. Run the failover audit and fix it before air."
        )
    cause, actions = _cause(channel, running, roles, main_flows, backup_flows, flows, css, stale)

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
        warnings=warnings,
        failovers_24h=failover_count,
        last_failover_at=last,
        stale_since=channel.stale_since,
    )


def _cause(channel, running, roles, main_flows, backup_flows, flows, css, stale):
    name = channel.name
    if stale:
        return (
            "StreamLive could not be reached; the last known state is shown, not the current one.",
            [
                "Check the Tencent Cloud status page and the console's credentials.",
                f"Check {name} in the StreamLive console directly.",
            ],
        )
    if channel.state == LiveChannel.State.IDLE and _running(flows):
        return (
            "The encoder stopped: the StreamLive channel is idle while StreamLink still runs.",
            [
                f"Start {name} (ops: start channel), then check that the input is MAIN.",
                "Check the audit trail and schedules for who or what stopped it.",
            ],
        )
    if channel.state == LiveChannel.State.IDLE:
        return (
            "Off air: the StreamLive channel and its contribution flows are stopped.",
            [f"Start the MAIN and BACKUP StreamLink flows, then start {name}."],
        )
    if not running:
        return (
            f"The channel is {channel.state}: a start or stop is in progress.",
            ["Wait for the channel to settle, then check again."],
        )
    if roles and all(r == InputRole.NONE for r in roles):
        if flows and not any(f.state == LinkFlow.State.RUNNING for f in flows):
            return (
                "No contribution: every StreamLink flow feeding the channel is stopped.",
                ["Start the MAIN StreamLink flow (and the BACKUP one)."],
            )
        return (
            "No input reaches StreamLive although the channel runs: the encoders feeding "
            "StreamLink stopped sending, or the flows' outputs point elsewhere.",
            [
                "Check the MAIN and BACKUP encoders.",
                "Check the StreamLink flow inputs are Connected and their outputs' URLs.",
            ],
        )
    if InputRole.BACKUP in roles:
        if main_flows and not _running(main_flows):
            return (
                "Contribution MAIN lost: the StreamLink MAIN flow is idle, the channel runs on "
                "its BACKUP input.",
                [
                    "Start the StreamLink MAIN flow: " + ", ".join(f.name for f in main_flows),
                    "Check the MAIN encoder, then switch the channel back to MAIN.",
                ],
            )
        return (
            "MAIN input lost upstream: the channel failed over to BACKUP.",
            [
                "Check the MAIN encoder and the MAIN StreamLink flow's input connection.",
                "With CURRENT_PREFERRED the channel stays on BACKUP after MAIN recovers: "
                "switch it back (restart or an INPUT_SWITCH plan) in a quiet moment.",
            ],
        )
    if InputRole.NONE in roles:
        down = [str(i) for i, r in enumerate(roles) if r == InputRole.NONE]
        return (
            f"Degraded: pipeline {', '.join(down)} has no input (the other still runs).",
            ["Check the push to that pipeline's input address (StreamLink output destination)."],
        )
    if css is not None and css.state != CssStream.State.ACTIVE:
        return (
            f"Delivery: the CSS stream {css} is {css.state} while StreamLive runs on MAIN.",
            [
                "Check the StreamLive RTMP output group's destination URL.",
                "Resume the stream if it was forbidden.",
            ],
        )
    return ("All services healthy.", [])
