"""Every sentence the inventory says about a channel, as a stored code (``broadcastops.i18n``).

The diagnosis, the attention reasons and the notifications are built from these and turned
into text in the reader's language when read (the dashboard, the admin, the API, ops_status,
Slack). Change the English freely: the code stays, stored rows follow the new wording.
"""

from django.utils.translation import gettext_noop

from broadcastops.i18n import message_define, message_define_choices
from broadcastops.inventory.models import (
    CssStream,
    FailoverEvent,
    Health,
    InputRole,
    LinkFlow,
    LiveChannel,
)

# --- labels of the choices ----------------------------------------------------------------

HEALTH = message_define_choices("inventory.health", Health)
INPUT = message_define_choices("inventory.input", InputRole)
CHANNEL_STATE = message_define_choices("inventory.channel_state", LiveChannel.State)
FLOW_STATE = message_define_choices("inventory.flow_state", LinkFlow.State)
CSS_STATE = message_define_choices("inventory.css_state", CssStream.State)
EVENT_KIND = message_define_choices("inventory.event_kind", FailoverEvent.Kind)

# --- needs attention (inventory.attention) -------------------------------------------------

ATTENTION_HEALTH = message_define("inventory.attention.health", gettext_noop("Health: %(health)s"))
ATTENTION_STALE = message_define(
    "inventory.attention.stale", gettext_noop("Data stale since %(since)s")
)
ATTENTION_UNPROTECTED = message_define(
    "inventory.attention.unprotected", gettext_noop("On air without input protection")
)

ATTENTION_CALLBACKS_MISSING = message_define(
    "inventory.attention.callbacks_missing",
    gettext_noop(
        "Push callbacks configured, but none arrived when the channel switched inputs "
        "(%(since)s): check that the cloud can reach %(url)s"
    ),
)

# --- the diagnosis: one line per service ---------------------------------------------------

FACTS_LIVE = message_define("inventory.facts.live", gettext_noop("%(state)s, input %(input)s"))
FACTS_LIVE_PIPELINES = message_define(
    "inventory.facts.live_pipelines", gettext_noop("%(state)s, input %(input)s (%(pipelines)s)")
)
FACTS_PIPELINE = message_define(
    "inventory.facts.pipeline", gettext_noop("pipeline %(pipeline)s: %(role)s")
)
FACTS_ALERTS = message_define(
    "inventory.facts.alerts", gettext_noop("active alerts (%(count)s): %(types)s")
)
FACTS_STALE = message_define("inventory.facts.stale", gettext_noop("data stale since %(since)s"))
FACTS_FLOW = message_define("inventory.facts.flow", gettext_noop("%(name)s (%(role)s) %(state)s"))
FACTS_NO_FLOW = message_define(
    "inventory.facts.no_flow", gettext_noop("no flow feeds this channel's inputs")
)
FACTS_PACKAGE = message_define("inventory.facts.package", gettext_noop("linked to %(name)s"))
FACTS_NO_PACKAGE = message_define(
    "inventory.facts.no_package", gettext_noop("no StreamPackage channel linked")
)
FACTS_CSS = message_define("inventory.facts.css", gettext_noop("%(stream)s %(state)s"))
FACTS_NO_CSS = message_define("inventory.facts.no_css", gettext_noop("no CSS stream linked"))

# --- the diagnosis: probable cause and what to do ------------------------------------------

CAUSE_STALE = message_define(
    "inventory.cause.stale",
    gettext_noop(
        "StreamLive could not be reached; the last known state is shown, not the current one."
    ),
)
DO_CHECK_CLOUD = message_define(
    "inventory.do.check_cloud",
    gettext_noop("Check the Tencent Cloud status page and the console's credentials."),
)
DO_CHECK_IN_CONSOLE = message_define(
    "inventory.do.check_in_console",
    gettext_noop("Check %(name)s in the StreamLive console directly."),
)
CAUSE_ENCODER_STOPPED = message_define(
    "inventory.cause.encoder_stopped",
    gettext_noop(
        "The encoder stopped: the StreamLive channel is idle while StreamLink still runs."
    ),
)
DO_START_AND_CHECK_MAIN = message_define(
    "inventory.do.start_and_check_main",
    gettext_noop("Start %(name)s (ops: start channel), then check that the input is MAIN."),
)
DO_CHECK_WHO_STOPPED = message_define(
    "inventory.do.check_who_stopped",
    gettext_noop("Check the audit trail and schedules for who or what stopped it."),
)
CAUSE_OFF_AIR = message_define(
    "inventory.cause.off_air",
    gettext_noop("Off air: the StreamLive channel and its contribution flows are stopped."),
)
DO_START_FLOWS_THEN_CHANNEL = message_define(
    "inventory.do.start_flows_then_channel",
    gettext_noop("Start the MAIN and BACKUP StreamLink flows, then start %(name)s."),
)
CAUSE_TRANSITION = message_define(
    "inventory.cause.transition",
    gettext_noop("The channel is %(state)s: a start or stop is in progress."),
)
DO_WAIT = message_define(
    "inventory.do.wait", gettext_noop("Wait for the channel to settle, then check again.")
)
CAUSE_NO_CONTRIBUTION = message_define(
    "inventory.cause.no_contribution",
    gettext_noop("No contribution: every StreamLink flow feeding the channel is stopped."),
)
DO_START_MAIN_FLOW = message_define(
    "inventory.do.start_main_flow",
    gettext_noop("Start the MAIN StreamLink flow (and the BACKUP one)."),
)
CAUSE_NO_INPUT = message_define(
    "inventory.cause.no_input",
    gettext_noop(
        "No input reaches StreamLive although the channel runs: the encoders feeding "
        "StreamLink stopped sending, or the flows' outputs point elsewhere."
    ),
)
DO_CHECK_ENCODERS = message_define(
    "inventory.do.check_encoders", gettext_noop("Check the MAIN and BACKUP encoders.")
)
DO_CHECK_FLOW_INPUTS = message_define(
    "inventory.do.check_flow_inputs",
    gettext_noop("Check the StreamLink flow inputs are Connected and their outputs' URLs."),
)
CAUSE_MAIN_CONTRIBUTION_LOST = message_define(
    "inventory.cause.main_contribution_lost",
    gettext_noop(
        "Contribution MAIN lost: the StreamLink MAIN flow is idle, the channel runs on its "
        "BACKUP input."
    ),
)
DO_START_MAIN_FLOWS = message_define(
    "inventory.do.start_main_flows", gettext_noop("Start the StreamLink MAIN flow: %(flows)s")
)
DO_SWITCH_BACK_TO_MAIN = message_define(
    "inventory.do.switch_back_to_main",
    gettext_noop("Check the MAIN encoder, then switch the channel back to MAIN."),
)
CAUSE_MAIN_LOST_UPSTREAM = message_define(
    "inventory.cause.main_lost_upstream",
    gettext_noop("MAIN input lost upstream: the channel failed over to BACKUP."),
)
DO_CHECK_MAIN_UPSTREAM = message_define(
    "inventory.do.check_main_upstream",
    gettext_noop("Check the MAIN encoder and the MAIN StreamLink flow's input connection."),
)
DO_CURRENT_PREFERRED = message_define(
    "inventory.do.current_preferred",
    gettext_noop(
        "With CURRENT_PREFERRED the channel stays on BACKUP after MAIN recovers: switch it "
        "back (restart or an INPUT_SWITCH plan) in a quiet moment."
    ),
)
CAUSE_PIPELINE_WITHOUT_INPUT = message_define(
    "inventory.cause.pipeline_without_input",
    gettext_noop("Degraded: pipeline %(pipelines)s has no input (the other still runs)."),
)
DO_CHECK_PIPELINE_PUSH = message_define(
    "inventory.do.check_pipeline_push",
    gettext_noop(
        "Check the push to that pipeline's input address (StreamLink output destination)."
    ),
)
CAUSE_DELIVERY = message_define(
    "inventory.cause.delivery",
    gettext_noop("Delivery: the CSS stream %(stream)s is %(state)s while StreamLive runs on MAIN."),
)
DO_CHECK_OUTPUT_GROUP = message_define(
    "inventory.do.check_output_group",
    gettext_noop("Check the StreamLive RTMP output group's destination URL."),
)
DO_RESUME_STREAM = message_define(
    "inventory.do.resume_stream", gettext_noop("Resume the stream if it was forbidden.")
)
CAUSE_UNPROTECTED = message_define(
    "inventory.cause.unprotected",
    gettext_noop("On air without input protection: %(reason)s"),
)
DO_PROTECT = message_define(
    "inventory.do.protect",
    gettext_noop(
        "Give %(name)s input protection before its MAIN input fails: the channel's failover "
        "audit lists the steps."
    ),
)
NOTE_PROTECT_BEFORE_AIR = message_define(
    "inventory.do.protect_before_air",
    gettext_noop("Before air: %(name)s has no input protection (%(reason)s)."),
)
CAUSE_HEALTHY = message_define("inventory.cause.healthy", gettext_noop("All services healthy."))

# --- notifications -------------------------------------------------------------------------

WHERE_PIPELINE = message_define("inventory.where.pipeline", gettext_noop("Pipeline %(pipeline)s"))
WHERE_CHANNEL = message_define("inventory.where.channel", gettext_noop("The channel"))

FAILOVER_TITLE = message_define(
    "inventory.notify.failover.title", gettext_noop("%(name)s switched to the BACKUP input")
)
FAILOVER_TEXT = message_define(
    "inventory.notify.failover.text", gettext_noop("%(where)s lost its MAIN input at %(time)s.")
)
DO_CHECK_MAIN = message_define(
    "inventory.do.check_main",
    gettext_noop("Check the MAIN encoder and the MAIN StreamLink flow."),
)
DO_RUN_OPS_STATUS = message_define(
    "inventory.do.run_ops_status",
    gettext_noop("Run `ops_status --channel %(name)s` for the full diagnosis."),
)
RECOVERED_TITLE = message_define(
    "inventory.notify.recovered.title", gettext_noop("%(name)s is back on the MAIN input")
)
RECOVERED_TEXT = message_define(
    "inventory.notify.recovered.text", gettext_noop("%(where)s recovered at %(time)s.")
)
RESTORED_TITLE = message_define(
    "inventory.notify.restored.title", gettext_noop("%(name)s has its MAIN input again")
)
RESTORED_TEXT = message_define(
    "inventory.notify.restored.text",
    gettext_noop("%(where)s receives its MAIN input again since %(time)s."),
)
INPUT_LOST_TITLE = message_define(
    "inventory.notify.input_lost.title", gettext_noop("%(name)s lost its input")
)
INPUT_LOST_TEXT = message_define(
    "inventory.notify.input_lost.text",
    gettext_noop("%(where)s has no input since %(time)s: viewers may see the loss image."),
)
DO_CHECK_FEEDS = message_define(
    "inventory.do.check_feeds",
    gettext_noop("Check the encoders and the StreamLink flows feeding this channel."),
)
STOPPED_TITLE = message_define(
    "inventory.notify.stopped.title", gettext_noop("%(name)s stopped unexpectedly")
)
STOPPED_TEXT = message_define(
    "inventory.notify.stopped.text",
    gettext_noop("The StreamLive channel went IDLE at %(time)s without an operator stopping it."),
)
DO_START_IF_ON_AIR = message_define(
    "inventory.do.start_if_on_air",
    gettext_noop("Start %(name)s from the console if it should be on air."),
)
DO_CHECK_WHO_STOPPED_CONSOLE = message_define(
    "inventory.do.check_who_stopped_console",
    gettext_noop("Check the schedules and the Tencent console for who stopped it."),
)
REACHABLE_TITLE = message_define(
    "inventory.notify.reachable.title", gettext_noop("%(service)s answers again")
)
REACHABLE_TEXT = message_define(
    "inventory.notify.reachable.text",
    gettext_noop("Unreachable from %(since)s until %(until)s."),
)
UNREACHABLE_TITLE = message_define(
    "inventory.notify.unreachable.title", gettext_noop("%(service)s cannot be reached")
)
UNREACHABLE_TEXT = message_define(
    "inventory.notify.unreachable.text",
    gettext_noop("Statuses from %(service)s are stale, not stopped. %(error)s"),
)
DO_CHECK_REACHABILITY = message_define(
    "inventory.do.check_reachability",
    gettext_noop("Check the Tencent Cloud status page, the network and the credentials."),
)
