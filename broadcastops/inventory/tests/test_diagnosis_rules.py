"""Each probable-cause rule of the diagnosis, one case each (not only "healthy").

The rules are pure functions of the synced rows, so the rows here are built in memory. The
outcome is named by ``rule_of``: today the cause's opening words; when the diagnosis carries
codes (the i18n work), ``rule_of`` reads the code instead and the cases stay as they are.
"""

from datetime import UTC, datetime

import pytest

from broadcastops.inventory.diagnosis import channel_diagnose
from broadcastops.inventory.models import CssStream, Health, InputRole, LinkFlow, LiveChannel

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULE_OPENINGS = {
    "stale": "StreamLive could not be reached",
    "encoder_stopped": "The encoder stopped",
    "off_air": "Off air",
    "in_transition": "The channel is STARTING",
    "no_contribution": "No contribution",
    "no_input": "No input reaches StreamLive",
    "main_contribution_lost": "Contribution MAIN lost",
    "failed_over": "MAIN input lost upstream",
    "degraded": "Degraded",
    "delivery": "Delivery",
    "healthy": "All services healthy",
}


def rule_of(diagnosis) -> str:
    code = getattr(diagnosis, "code", None)
    if code:
        return code
    return next(
        rule for rule, opening in RULE_OPENINGS.items() if diagnosis.cause.startswith(opening)
    )


def _pipelines(*roles: str) -> list[dict]:
    return [{"pipeline": i, "role": role, "input_id": f"in-{i}"} for i, role in enumerate(roles)]


def _flow(name: str, role: str, state: str = "RUNNING") -> LinkFlow:
    return LinkFlow(cloud_id=name, name=name, role=role, state=state)


def _channel(state="RUNNING", roles=("MAIN", "MAIN"), health=Health.GREEN, **fields) -> LiveChannel:
    return LiveChannel(
        cloud_id="ch-1",
        name="ch-1",
        state=state,
        pipelines=_pipelines(*roles),
        health=health,
        **fields,
    )


ACTIVE = CssStream(domain="push.test", stream_name="ch1", state=CssStream.State.ACTIVE)
BOTH_RUNNING = [_flow("ch1_m", InputRole.MAIN), _flow("ch1_b", InputRole.BACKUP)]
BOTH_IDLE = [_flow("ch1_m", InputRole.MAIN, "IDLE"), _flow("ch1_b", InputRole.BACKUP, "IDLE")]

CASES = {
    "stale": (_channel(stale_since=NOW), BOTH_RUNNING, ACTIVE),
    "encoder_stopped": (_channel("IDLE", (), Health.IDLE), BOTH_RUNNING, ACTIVE),
    "off_air": (_channel("IDLE", (), Health.IDLE), BOTH_IDLE, ACTIVE),
    "in_transition": (_channel("STARTING", (), Health.AMBER), BOTH_RUNNING, ACTIVE),
    "no_contribution": (_channel(roles=("NONE", "NONE"), health=Health.RED), BOTH_IDLE, ACTIVE),
    "no_input": (_channel(roles=("NONE", "NONE"), health=Health.RED), BOTH_RUNNING, ACTIVE),
    "main_contribution_lost": (
        _channel(roles=("BACKUP", "BACKUP"), health=Health.AMBER),
        [_flow("ch1_m", InputRole.MAIN, "IDLE"), _flow("ch1_b", InputRole.BACKUP)],
        ACTIVE,
    ),
    "failed_over": (
        _channel(roles=("BACKUP", "BACKUP"), health=Health.AMBER),
        BOTH_RUNNING,
        ACTIVE,
    ),
    "degraded": (_channel(roles=("MAIN", "NONE"), health=Health.AMBER), BOTH_RUNNING, ACTIVE),
    "delivery": (
        _channel(),
        BOTH_RUNNING,
        CssStream(domain="push.test", stream_name="ch1", state=CssStream.State.INACTIVE),
    ),
    "healthy": (_channel(), BOTH_RUNNING, ACTIVE),
}


def _diagnose(channel: LiveChannel, flows, css):
    channel.css_stream = css
    return channel_diagnose(channel=channel, flows=flows, failovers=[], now=NOW)


@pytest.mark.parametrize("rule", list(CASES))
def test_each_rule_is_the_one_its_situation_calls_for(rule):
    diagnosis = _diagnose(*CASES[rule])
    assert rule_of(diagnosis) == rule
    assert bool(diagnosis.actions) == (rule != "healthy")


def test_the_rules_name_what_an_operator_acts_on():
    lost = _diagnose(*CASES["main_contribution_lost"])
    assert any("ch1_m" in action for action in lost.actions)  # the flow to start
    degraded = _diagnose(*CASES["degraded"])
    assert "1" in degraded.cause and "0" not in degraded.cause.split(":")[0]  # the pipeline
    stopped = _diagnose(*CASES["encoder_stopped"])
    assert any("ch-1" in action for action in stopped.actions)  # the channel to start


def test_failover_switched_on_without_a_backup_is_warned_whatever_the_cause():
    channel = _channel(
        attached_inputs=[
            {"id": "in-0", "failover": {"SecondaryInputId": "", "LossThreshold": 0}},
            {"id": "in-1", "failover": None},
        ]
    )
    diagnosis = _diagnose(channel, BOTH_RUNNING, ACTIVE)
    assert rule_of(diagnosis) == "healthy" and diagnosis.warnings and not diagnosis.ok
    paired = _channel(
        attached_inputs=[
            {"id": "in-0", "failover": {"SecondaryInputId": "in-1", "LossThreshold": 3000}},
            {"id": "in-1", "failover": None},
        ]
    )
    assert _diagnose(paired, BOTH_RUNNING, ACTIVE).warnings == []
