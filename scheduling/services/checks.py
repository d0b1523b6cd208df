"""The pre-air check: six items read from the cloud and the inventory, each ✅, ❌ or ⚪.

Read outside any transaction (the cloud is called). The channel's and the flows' states come
fresh from the cloud; the links (StreamPackage, CSS), the active input while on air and the
failover verdict come from the inventory, which the poll and the failover audit keep current
(the verdict through ``LiveChannel.input_protected``: the schedules never import the
failover app).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broadcastops.cloud.errors import CloudError
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.cloud.types import CssStreamState
from broadcastops.i18n import Message, Text
from broadcastops.inventory.models import InputRole, LinkFlow, LiveChannel
from broadcastops.inventory.selectors import channel_flows
from scheduling import messages as m
from scheduling.models import Schedule

State = LiveChannel.State
MARKS = {True: "✅", False: "❌", None: "⚪"}


@dataclass(frozen=True)
class CheckItem:
    """One line of the check: ``ok`` True (✅), False (❌) or None (⚪: not applicable yet)."""

    item: str
    ok: bool | None
    detail: Message

    @property
    def label(self) -> Message:
        return m.ITEM[self.item]()

    @property
    def value(self) -> Message:
        return m.CHECK_VALUE(mark=MARKS[self.ok], detail=self.detail)

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "ok": self.ok, "detail": self.detail.as_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckItem:
        return cls(item=data["item"], ok=data["ok"], detail=Message.from_json(data["detail"]))


@dataclass(frozen=True)
class CheckResult:
    items: tuple[CheckItem, ...]

    @property
    def ready(self) -> bool:
        return all(item.ok is not False for item in self.items)

    @property
    def failed(self) -> list[CheckItem]:
        return [item for item in self.items if item.ok is False]

    def to_json(self) -> dict[str, Any]:
        return {"ready": self.ready, "items": [item.to_json() for item in self.items]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(items=tuple(CheckItem.from_json(i) for i in data.get("items") or ()))


def _names(flows: list[LinkFlow]) -> str:
    return ", ".join(f.name for f in flows)


def precheck_run(*, schedule: Schedule) -> CheckResult:
    """Check ``schedule``'s channel now."""
    channel = schedule.channel
    gateway = tencent_gateway()
    items: list[CheckItem] = []
    state = ""
    try:
        state = gateway.live_channel_get(channel_id=channel.cloud_id).state
    except CloudError as exc:
        items.append(CheckItem("channel", False, m.CHANNEL_UNREADABLE(error=Text(exc.message))))
    else:
        if state in (State.IDLE, State.RUNNING):
            items.append(CheckItem("channel", True, m.CHANNEL_STATE(state=state)))
        else:
            items.append(CheckItem("channel", False, m.CHANNEL_BUSY(state=state)))

    flows = channel_flows(channel)
    if state == State.RUNNING:
        on_main = channel.active_input == InputRole.MAIN
        detail = m.INPUT_ON_MAIN() if on_main else m.INPUT_NOT_MAIN(role=channel.active_input)
        items.append(CheckItem("input", on_main, detail))
    elif any(f.role == InputRole.MAIN for f in flows):
        items.append(CheckItem("input", True, m.INPUT_MAIN_READY()))
    else:
        items.append(CheckItem("input", False, m.INPUT_NO_MAIN()))

    if channel.input_protected is None:
        items.append(CheckItem("failover", False, m.FAILOVER_UNKNOWN()))
    elif channel.input_protected:
        items.append(CheckItem("failover", True, m.FAILOVER_OK()))
    else:
        reason = Message.from_json(channel.input_protection_reason)
        items.append(CheckItem("failover", False, m.FAILOVER_NOT_OK(reason=reason)))

    if not flows:
        items.append(CheckItem("flows", False, m.FLOWS_NONE()))
    else:
        idle = []
        for flow in flows:
            try:
                flow_state = gateway.link_flow_get(flow_id=flow.cloud_id).state
            except CloudError:
                flow_state = flow.state  # the inventory's last known state
            if flow_state != LinkFlow.State.RUNNING:
                idle.append(flow)
        if not idle:
            items.append(CheckItem("flows", True, m.FLOWS_RUNNING(names=_names(flows))))
        elif schedule.auto_start:
            items.append(CheckItem("flows", None, m.FLOWS_IDLE_AUTO(names=_names(idle))))
        else:
            items.append(CheckItem("flows", False, m.FLOWS_IDLE(names=_names(idle))))

    package = channel.package_channel
    if package is None:
        items.append(CheckItem("package", False, m.PACKAGE_NONE()))
    else:
        items.append(CheckItem("package", True, m.PACKAGE_LINKED(name=str(package))))

    css = channel.css_stream
    if css is None:
        items.append(CheckItem("css", False, m.CSS_NONE()))
    elif state != State.RUNNING:
        items.append(CheckItem("css", True, m.CSS_LINKED(name=str(css))))
    else:
        try:
            pushed = (
                gateway.css_stream_state(
                    domain_name=css.domain, stream_name=css.stream_name, app_name=css.app_name
                )
                == CssStreamState.ACTIVE
            )
        except CloudError:
            pushed = css.state == "active"
        detail = m.CSS_ACTIVE(name=str(css)) if pushed else m.CSS_NOT_PUSHED(name=str(css))
        items.append(CheckItem("css", pushed, detail))
    return CheckResult(items=tuple(items))
