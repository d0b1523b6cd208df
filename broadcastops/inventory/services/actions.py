"""Operator actions on channels and flows: start, stop, restart, through the action engine.

Each service *begins* an action (``broadcastops.actions``: guards, one running action per
resource, a Celery task enqueued on commit) and returns its row at once; the runners below
do the work in the task. The runners are resumable and idempotent: every step is decided
from the cloud's state (and, for a restart, the checkpoint of the phase it reached), so a
worker that takes an action over after another died never repeats a start: a channel already
RUNNING or STARTING counts as started. They are registered for their kinds in
``InventoryConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.runs import ActionRun
from broadcastops.actions.services import action_begin
from broadcastops.actions.text import text
from broadcastops.actions.types import Actor, Outcome, Target
from broadcastops.cloud.errors import CloudStateError
from broadcastops.cloud.tencent import TencentGateway, tencent_gateway
from broadcastops.errors import ValidationFailed
from broadcastops.inventory.models import LinkFlow, LiveChannel
from broadcastops.inventory.services.push import notify_key_for

ChannelState = LiveChannel.State
FlowState = LinkFlow.State
ON_AIR = (ChannelState.RUNNING, ChannelState.STARTING)
SETTLED = (ChannelState.IDLE, ChannelState.RUNNING)


def _channel_target(channel: LiveChannel) -> Target:
    return Target(type="channel", id=channel.cloud_id, name=channel.name)


def _flow_target(flow: LinkFlow) -> Target:
    return Target(type="flow", id=flow.cloud_id, name=flow.name)


# --- begin --------------------------------------------------------------------------------
def channel_start(*, channel: LiveChannel, actor: Actor, override: bool = False) -> OperatorAction:
    """Start ``channel`` (in a worker: start, wait for RUNNING, check the input)."""
    return action_begin(
        kind="channel.start",
        target=_channel_target(channel),
        actor=actor,
        verb="start",
        override=override,
    )


def channel_stop(*, channel: LiveChannel, actor: Actor, override: bool = False) -> OperatorAction:
    """Stop ``channel`` (in a worker: stop, wait for IDLE)."""
    return action_begin(
        kind="channel.stop",
        target=_channel_target(channel),
        actor=actor,
        verb="stop",
        override=override,
    )


def channel_restart(
    *, channel: LiveChannel, actor: Actor, override: bool = False
) -> OperatorAction:
    """Restart ``channel`` (in a worker: stop, wait IDLE, start, wait RUNNING, check)."""
    return action_begin(
        kind="channel.restart",
        target=_channel_target(channel),
        actor=actor,
        verb="restart",
        override=override,
    )


def flow_start(*, flow: LinkFlow, actor: Actor, override: bool = False) -> OperatorAction:
    """Start a StreamLink flow (in a worker: start, wait for RUNNING)."""
    return action_begin(
        kind="flow.start", target=_flow_target(flow), actor=actor, verb="start", override=override
    )


def flow_stop(*, flow: LinkFlow, actor: Actor, override: bool = False) -> OperatorAction:
    """Stop a StreamLink flow (in a worker: stop, wait for IDLE)."""
    return action_begin(
        kind="flow.stop", target=_flow_target(flow), actor=actor, verb="stop", override=override
    )


def channel_push_events_configure(
    *, channel: LiveChannel, actor: Actor, override: bool = False
) -> OperatorAction:
    """Point ``channel``'s push callbacks at this console (in a worker: ModifyStreamLiveChannel
    with ``EventNotifySettings`` set and every other field sent back as read). ``override`` is
    accepted for the admin's and the commands' one signature: no guard is asked (the channel
    is neither started nor stopped)."""
    url = settings.TENCENT_EVENTS_NOTIFY_URL
    if not url or not notify_key_for(channel.cloud_id):
        raise ValidationFailed(
            _(
                "Set TENCENT_EVENTS_NOTIFY_URL (this console's address as the cloud reaches it) "
                "and TENCENT_EVENTS_NOTIFY_KEY before configuring callbacks."
            ),
            code="callbacks_not_configured",
        )
    return action_begin(
        kind="channel.push_events",
        target=_channel_target(channel),
        actor=actor,
        params={"notify_url": url},
    )


# --- run ------------------------------------------------------------------------------------
class _Channel:
    """The channel a runner acts on: reads and waits through the gateway."""

    def __init__(self, run: ActionRun):
        self.run = run
        self.id = run.action.target_id
        self.name = run.action.target_name or self.id
        self.gateway: TencentGateway = tencent_gateway()

    def state(self) -> str:
        return self.gateway.live_channel_get(channel_id=self.id).state

    def wait(self, want: str | Collection[str]) -> str:
        return self.run.wait_for(
            self.state,
            want,
            timeout_s=settings.INVENTORY_RESTART_TIMEOUT_S,
            poll_s=settings.INVENTORY_RESTART_POLL_S,
        )

    def settled(self) -> str:
        """The state once the channel is no longer starting or stopping."""
        return self.wait(SETTLED)

    def start(self) -> None:
        self.run.checkpoint(phase="start")  # from here on, a new worker never stops it again
        request_id = self.gateway.live_channel_start(channel_id=self.id)
        self.run.progress(
            text(gettext_noop("%(name)s is idle; starting it."), name=self.name),
            request_id=request_id,
        )

    def stop(self, was: str) -> None:
        request_id = self.gateway.live_channel_stop(channel_id=self.id)
        self.run.progress(
            text(gettext_noop("Stopping %(name)s (it was %(state)s)."), name=self.name, state=was),
            request_id=request_id,
        )

    def running(self, outcome: str) -> Outcome:
        """Wait for RUNNING, check which input is on air, and say so in ``outcome``."""
        self.wait(ChannelState.RUNNING)
        self.run.progress(
            text(gettext_noop("%(name)s is running; checking its input."), name=self.name)
        )
        stats = self.gateway.live_channel_input_statistics(channel_id=self.id, period="5s")
        inputs = text(
            gettext_noop("pipeline 0: %(p0)s; pipeline 1: %(p1)s"),
            p0=stats.active_input_id(0) or text(gettext_noop("no input yet")),
            p1=stats.active_input_id(1) or text(gettext_noop("no input yet")),
        )
        return Outcome(
            ok=True, text=text(outcome, inputs=inputs), result={"state": ChannelState.RUNNING}
        )


def channel_start_run(run: ActionRun) -> Outcome:
    channel = _Channel(run)
    state = channel.state()
    if state not in ON_AIR:
        if channel.settled() == ChannelState.IDLE:
            channel.start()
    elif run.state.get("phase") != "start":
        run.progress(
            text(
                gettext_noop("%(name)s is already %(state)s: nothing to start."),
                name=channel.name,
                state=state,
            )
        )
    return channel.running(gettext_noop("Running; %(inputs)s."))


def channel_stop_run(run: ActionRun) -> Outcome:
    channel = _Channel(run)
    state = channel.state()
    if state in ON_AIR:
        channel.stop(state)
    elif state == ChannelState.IDLE:
        run.progress(
            text(gettext_noop("%(name)s is already idle: nothing to stop."), name=channel.name)
        )
    channel.wait(ChannelState.IDLE)
    return Outcome(
        ok=True,
        text=text(gettext_noop("%(name)s is stopped (idle)."), name=channel.name),
        result={"state": ChannelState.IDLE},
    )


def channel_restart_run(run: ActionRun) -> Outcome:
    """Stop, wait IDLE, start, wait RUNNING, check the input.

    Resuming: before the ``start`` phase a channel on air has not been stopped yet (stop it);
    in it, a channel on air has been started already (never a second start)."""
    channel = _Channel(run)
    state = channel.state()
    if run.state.get("phase") != "start" and state in ON_AIR:
        channel.stop(state)
    if channel.wait((ChannelState.IDLE, *ON_AIR)) in ON_AIR and run.state.get("phase") == "start":
        run.progress(
            text(gettext_noop("%(name)s was started already: no second start."), name=channel.name)
        )
    else:
        channel.wait(ChannelState.IDLE)
        channel.start()
    return channel.running(gettext_noop("Restarted; %(inputs)s."))


def _flow_run(run: ActionRun, *, want: str) -> Outcome:
    gateway = tencent_gateway()
    flow_id = run.action.target_id
    name = run.action.target_name or flow_id

    def state() -> str:
        return gateway.link_flow_get(flow_id=flow_id).state

    if state() == want:
        run.progress(text(gettext_noop("%(name)s is already %(state)s."), name=name, state=want))
    else:
        call = gateway.link_flow_start if want == FlowState.RUNNING else gateway.link_flow_stop
        request_id = call(flow_id=flow_id)
        line = (
            gettext_noop("Starting %(name)s.")
            if want == FlowState.RUNNING
            else gettext_noop("Stopping %(name)s.")
        )
        run.progress(text(line, name=name), request_id=request_id)
        run.wait_for(
            state,
            want,
            timeout_s=settings.INVENTORY_RESTART_TIMEOUT_S,
            poll_s=settings.INVENTORY_RESTART_POLL_S,
        )
    return Outcome(
        ok=True,
        text=text(gettext_noop("%(name)s is %(state)s."), name=name, state=want),
        result={"state": want},
    )


def flow_start_run(run: ActionRun) -> Outcome:
    return _flow_run(run, want=FlowState.RUNNING)


def flow_stop_run(run: ActionRun) -> Outcome:
    return _flow_run(run, want=FlowState.IDLE)


def channel_push_events_run(run: ActionRun) -> Outcome:
    """Set the channel's callbacks (URL and key) and nothing else, then read them back."""
    gateway = tencent_gateway()
    channel_id = run.action.target_id
    name = run.action.target_name or channel_id
    url = str(run.action.params["notify_url"])
    try:
        gateway.live_channel_push_events_modify(
            channel_id=channel_id, notify_url=url, notify_key=notify_key_for(channel_id)
        )
    except CloudStateError as exc:
        return Outcome(
            ok=False,
            code="state",
            text=text(
                gettext_noop(
                    "%(name)s: the cloud refuses to edit the channel now (%(message)s); "
                    "configure its callbacks while it is idle."
                ),
                name=name,
                message=exc.message,
            ),
        )
    run.progress(text(gettext_noop("Callbacks of %(name)s sent: %(url)s."), name=name, url=url))
    if gateway.live_channel_get(channel_id=channel_id).notify_url != url:
        return Outcome(
            ok=False,
            code="not_applied",
            text=text(gettext_noop("%(name)s does not show the callback URL."), name=name),
        )
    LiveChannel.objects.filter(cloud_id=channel_id).update(notify_url=url, push_missing_since=None)
    return Outcome(
        ok=True,
        text=text(gettext_noop("%(name)s sends its callbacks to %(url)s."), name=name, url=url),
        result={"notify_url": url},
    )


RUNNERS = {
    "channel.push_events": channel_push_events_run,
    "channel.start": channel_start_run,
    "channel.stop": channel_stop_run,
    "channel.restart": channel_restart_run,
    "flow.start": flow_start_run,
    "flow.stop": flow_stop_run,
}
