"""What no API states: which input each pipeline runs on, and how healthy a channel is.

The active input is inferred from the input statistics (the input with traffic in the newest
sample of a pipeline; reference/tencent-media-api.md 2.5). Whether that input is MAIN or BACKUP
comes from the failover settings (the primary is MAIN, its secondary BACKUP), else from the
StreamLink flow feeding it, else from the attachment order.
"""

from typing import Any

from broadcastops.cloud import types
from broadcastops.inventory.models import Health, InputRole, LiveChannel

PIPELINES = (0, 1)


def input_roles(channel: types.LiveChannel, flow_role_by_input: dict[str, str]) -> dict[str, str]:
    """MAIN/BACKUP for each attached input id of ``channel``."""
    roles: dict[str, str] = {}
    for attached in channel.attached_inputs:
        fo = attached.failover
        if fo is not None and fo.secondary_input_id:
            roles[attached.id] = InputRole.MAIN
            roles.setdefault(fo.secondary_input_id, InputRole.BACKUP)
    for attached in channel.attached_inputs:
        if attached.id not in roles and flow_role_by_input.get(attached.id) in (
            InputRole.MAIN,
            InputRole.BACKUP,
        ):
            roles[attached.id] = flow_role_by_input[attached.id]
    for index, attached in enumerate(channel.attached_inputs):
        roles.setdefault(attached.id, InputRole.MAIN if index == 0 else InputRole.BACKUP)
    return roles


def pipelines_infer(
    *,
    channel: types.LiveChannel,
    statistics: types.ChannelInputStatistics | None,
    alerts: list[types.PipelineAlert],
    roles: dict[str, str],
) -> list[dict[str, Any]]:
    """Per pipeline: the active input id, its role and the active alerts (JSON-ready)."""
    result: list[dict[str, Any]] = []
    for pipeline in PIPELINES:
        input_id = statistics.active_input_id(pipeline) if statistics else None
        role: str
        if channel.state != LiveChannel.State.RUNNING or statistics is None:
            on_air = channel.state == LiveChannel.State.RUNNING
            role = InputRole.UNKNOWN if on_air else InputRole.NONE
        elif input_id is None:
            role = InputRole.NONE
        else:
            role = roles.get(input_id, InputRole.UNKNOWN)
        result.append(
            {
                "pipeline": pipeline,
                "input_id": input_id or "",
                "role": str(role),
                "alerts": [
                    {
                        "type": a.type,
                        "message": a.message,
                        "set_time": a.set_time.isoformat() if a.set_time else None,
                    }
                    for a in alerts
                    if a.pipeline == pipeline and a.active
                ],
            }
        )
    return result


def active_input_summary(state: str, pipelines: list[dict[str, Any]]) -> str:
    """One word for the channel: BACKUP if any pipeline runs on BACKUP, NONE if none has input."""
    if state != LiveChannel.State.RUNNING:
        return InputRole.NONE
    roles = {p["role"] for p in pipelines}
    if InputRole.BACKUP in roles:
        return InputRole.BACKUP
    if InputRole.MAIN in roles:
        return InputRole.MAIN
    if roles == {InputRole.NONE}:
        return InputRole.NONE
    return InputRole.UNKNOWN


def health_of(state: str, pipelines: list[dict[str, Any]]) -> str:
    """Green: every pipeline on MAIN. Amber: degraded (a pipeline down, on BACKUP, or a start
    or stop in progress). Red: running with no input at all. Idle channels are not on air."""
    if state == LiveChannel.State.IDLE:
        return Health.IDLE
    if state != LiveChannel.State.RUNNING:
        return Health.AMBER
    roles = [p["role"] for p in pipelines]
    if roles and all(r == InputRole.MAIN for r in roles):
        return Health.GREEN
    if roles and all(r == InputRole.NONE for r in roles):
        return Health.RED
    if any(r == InputRole.UNKNOWN for r in roles) and not any(
        r in (InputRole.BACKUP, InputRole.NONE) for r in roles
    ):
        return Health.UNKNOWN
    return Health.AMBER
