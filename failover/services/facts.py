"""What the failover use cases read from the inventory: facts, verdicts, open fixes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from broadcastops.cloud import types
from broadcastops.inventory.models import LinkFlow, LiveChannel, LiveInput
from failover.audit import (
    ChannelVerdict,
    FlowFacts,
    InputFacts,
    attached_from_json,
    channel_audit,
)
from failover.models import FailoverFix

FixStatus = FailoverFix.Status
OPEN_FIXES = (FixStatus.PENDING, FixStatus.VERIFIED)


def input_facts(ids: Iterable[str] | None = None) -> dict[str, InputFacts]:
    rows = LiveInput.objects.all()
    if ids is not None:
        rows = rows.filter(cloud_id__in=list(ids))
    return {i.cloud_id: InputFacts(i.cloud_id, i.name, i.input_type) for i in rows}


def flow_facts(ids: Iterable[str] | None = None) -> dict[str, list[FlowFacts]]:
    """Live flows by the input id they feed (matched by endpoint during the poll)."""
    rows = LinkFlow.objects.filter(removed_at__isnull=True, feeds_input__isnull=False)
    if ids is not None:
        rows = rows.filter(feeds_input__cloud_id__in=list(ids))
    by_input: dict[str, list[FlowFacts]] = {}
    for flow in rows.select_related("feeds_input"):
        feeds = flow.feeds_input
        assert feeds is not None  # filtered on feeds_input__isnull=False
        facts = FlowFacts(flow.cloud_id, flow.name, flow.role, feeds.cloud_id)
        by_input.setdefault(facts.feeds_input_id, []).append(facts)
    return by_input


def verdict_of(
    channel_id: str,
    name: str,
    state: str,
    attached: Sequence[types.AttachedInput],
    inputs: dict[str, InputFacts],
    flows_by_input: dict[str, list[FlowFacts]],
) -> ChannelVerdict:
    flows = [f for a in attached for f in flows_by_input.get(a.id, [])]
    return channel_audit(
        channel_id=channel_id,
        name=name,
        state=state,
        attached=attached,
        inputs=inputs,
        flows=flows,
    )


def failover_verdict_compute(*, channel: LiveChannel) -> ChannelVerdict:
    """The verdict of one channel from its inventory rows, without storing it (a read)."""
    attached = attached_from_json(channel.attached_inputs)
    ids = [a.id for a in attached]
    return verdict_of(
        channel.cloud_id, channel.name, channel.state, attached, input_facts(ids), flow_facts(ids)
    )


def with_settings(
    attached: tuple[types.AttachedInput, ...], input_id: str, fo: types.FailOverSettings | None
) -> tuple[types.AttachedInput, ...]:
    return tuple(
        types.AttachedInput(id=a.id, failover=fo) if a.id == input_id else a for a in attached
    )


def shows(attached: Sequence[types.AttachedInput], input_id: str, expected: dict[str, Any]) -> bool:
    current = next((a.failover for a in attached if a.id == input_id), None)
    return current is not None and current.to_api() == expected
