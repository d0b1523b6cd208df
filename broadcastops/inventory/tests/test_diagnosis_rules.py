"""Each probable-cause rule of the diagnosis, one case each (not only "healthy").

The rules are pure functions of the synced rows, so the rows here are built in memory. The
outcome is named by ``rule_of``: the code of the diagnosis's cause (inventory/messages.py),
so a reworded sentence or another language changes nothing here.
"""

from datetime import UTC, datetime

import pytest

from broadcastops.inventory import messages as m
from broadcastops.inventory.diagnosis import channel_diagnose
from broadcastops.inventory.models import CssStream, Health, InputRole, LinkFlow, LiveChannel

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# The rule each case calls for, by the code of its cause.
RULES = {
    "stale": m.CAUSE_STALE,
    "encoder_stopped": m.CAUSE_ENCODER_STOPPED,
    "off_air": m.CAUSE_OFF_AIR,
    "in_transition": m.CAUSE_TRANSITION,
    "no_contribution": m.CAUSE_NO_CONTRIBUTION,
    "no_input": m.CAUSE_NO_INPUT,
    "main_contribution_lost": m.CAUSE_MAIN_CONTRIBUTION_LOST,
    "failed_over": m.CAUSE_MAIN_LOST_UPSTREAM,
    "degraded": m.CAUSE_PIPELINE_WITHOUT_INPUT,
    "delivery": m.CAUSE_DELIVERY,
    "unprotected": m.CAUSE_UNPROTECTED,
    "healthy": m.CAUSE_HEALTHY,
}
_RULE_OF_CODE = {kind.code: rule for rule, kind in RULES.items()}


def rule_of(diagnosis) -> str:
    return _RULE_OF_CODE[diagnosis.cause.code]


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
    # On air, every service fine, but the failover audit found no input protection.
    "unprotected": (_channel(input_protected=False), BOTH_RUNNING, ACTIVE),
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


def _texts(messages) -> list[str]:
    return [message.render("en") for message in messages]


def test_the_rules_name_what_an_operator_acts_on():
    lost = _diagnose(*CASES["main_contribution_lost"])
    assert any("ch1_m" in action for action in _texts(lost.actions))  # the flow to start
    degraded = _diagnose(*CASES["degraded"])
    assert degraded.cause.params == {"pipelines": "1"}  # the pipeline without input
    stopped = _diagnose(*CASES["encoder_stopped"])
    assert any("ch-1" in action for action in _texts(stopped.actions))  # the channel to start


def test_no_input_protection_is_said_whatever_the_cause():
    """Another cause comes first, but the diagnosis still asks for the protection."""
    on_air = _diagnose(_channel(stale_since=NOW, input_protected=False), BOTH_RUNNING, ACTIVE)
    assert rule_of(on_air) == "stale" and not on_air.ok
    assert m.DO_PROTECT.code in [a.code for a in on_air.actions]
    off_air = _diagnose(_channel("IDLE", (), Health.IDLE, input_protected=False), BOTH_IDLE, ACTIVE)
    assert rule_of(off_air) == "off_air"
    assert m.NOTE_PROTECT_BEFORE_AIR.code in [a.code for a in off_air.actions]
    protected = _diagnose(_channel(input_protected=True), BOTH_RUNNING, ACTIVE)
    assert rule_of(protected) == "healthy" and protected.actions == []
