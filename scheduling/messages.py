"""Every sentence the schedules store (step outcomes, check items, notifications) as a code
(``broadcastops.i18n``): rendered in the reader's language when someone reads it."""

from django.utils.translation import gettext_noop

from broadcastops.i18n import message_define, message_define_choices
from scheduling.models import Schedule, ScheduleStep

STATUS = message_define_choices("scheduling.status", Schedule.Status)
STEP_KIND = message_define_choices("scheduling.step", ScheduleStep.Kind)

# --- facts --------------------------------------------------------------------------------
FACT_SCHEDULE = message_define("scheduling.fact.schedule", gettext_noop("Schedule"))
FACT_STARTS = message_define("scheduling.fact.starts", gettext_noop("Starts"))
FACT_ENDS = message_define("scheduling.fact.ends", gettext_noop("Ends"))
FACT_LATE = message_define("scheduling.fact.late", gettext_noop("Late by"))
SECONDS = message_define("scheduling.seconds", gettext_noop("%(s)s s"))

# --- pre-air check ------------------------------------------------------------------------
ITEM = {
    "channel": message_define("scheduling.item.channel", gettext_noop("Channel state")),
    "input": message_define("scheduling.item.input", gettext_noop("Active input MAIN")),
    "failover": message_define("scheduling.item.failover", gettext_noop("Input failover audit")),
    "flows": message_define("scheduling.item.flows", gettext_noop("StreamLink flows")),
    "package": message_define("scheduling.item.package", gettext_noop("StreamPackage")),
    "css": message_define("scheduling.item.css", gettext_noop("CSS stream")),
}
CHECK_VALUE = message_define("scheduling.check.value", gettext_noop("%(mark)s %(detail)s"))
CHANNEL_STATE = message_define("scheduling.check.channel_state", gettext_noop("%(state)s"))
CHANNEL_UNREADABLE = message_define(
    "scheduling.check.channel_unreadable", gettext_noop("could not be read: %(error)s")
)
CHANNEL_BUSY = message_define(
    "scheduling.check.channel_busy", gettext_noop("%(state)s: still changing state")
)
INPUT_ON_MAIN = message_define("scheduling.check.input_main", gettext_noop("on MAIN"))
INPUT_NOT_MAIN = message_define(
    "scheduling.check.input_not_main", gettext_noop("on %(role)s, not MAIN")
)
INPUT_MAIN_READY = message_define(
    "scheduling.check.input_main_ready",
    gettext_noop("a MAIN flow feeds an attached input (checked again on air)"),
)
INPUT_NO_MAIN = message_define(
    "scheduling.check.input_no_main", gettext_noop("no MAIN flow feeds an attached input")
)
FAILOVER_OK = message_define("scheduling.check.failover_ok", gettext_noop("protected"))
FAILOVER_NOT_OK = message_define("scheduling.check.failover_bad", gettext_noop("%(reason)s"))
FAILOVER_UNKNOWN = message_define(
    "scheduling.check.failover_unknown", gettext_noop("not audited yet")
)
FLOWS_RUNNING = message_define(
    "scheduling.check.flows_running", gettext_noop("all running (%(names)s)")
)
FLOWS_IDLE_AUTO = message_define(
    "scheduling.check.flows_idle_auto",
    gettext_noop("idle: %(names)s (the automatic start starts them first)"),
)
FLOWS_IDLE = message_define("scheduling.check.flows_idle", gettext_noop("idle: %(names)s"))
FLOWS_NONE = message_define("scheduling.check.flows_none", gettext_noop("no flow feeds it"))
PACKAGE_LINKED = message_define("scheduling.check.package_linked", gettext_noop("linked: %(name)s"))
PACKAGE_NONE = message_define(
    "scheduling.check.package_none", gettext_noop("no StreamPackage channel linked")
)
CSS_ACTIVE = message_define("scheduling.check.css_active", gettext_noop("%(name)s is being pushed"))
CSS_LINKED = message_define(
    "scheduling.check.css_linked", gettext_noop("%(name)s linked (pushed once on air)")
)
CSS_NOT_PUSHED = message_define(
    "scheduling.check.css_not_pushed", gettext_noop("%(name)s is not being pushed")
)
CSS_NONE = message_define("scheduling.check.css_none", gettext_noop("no CSS stream linked"))

CHECK_READY_TITLE = message_define(
    "scheduling.check.ready_title", gettext_noop("%(title)s: ready (%(step)s)")
)
CHECK_FIX_TITLE = message_define(
    "scheduling.check.fix_title", gettext_noop("%(title)s: %(count)s to fix (%(step)s)")
)
CHECK_READY_TEXT = message_define(
    "scheduling.check.ready_text", gettext_noop("Every item is ready for the broadcast.")
)
CHECK_FIX_TEXT = message_define(
    "scheduling.check.fix_text", gettext_noop("Fix these before the broadcast: %(items)s.")
)
CHECK_FIX_BLOCKS = message_define(
    "scheduling.check.blocks",
    gettext_noop("This schedule does not start automatically while a check fails."),
)
CHECK_FIX_ACTION = message_define(
    "scheduling.check.fix_action", gettext_noop("Fix: %(item)s (%(detail)s)")
)

# --- start, stop, reminders ----------------------------------------------------------------
START_BEGUN = message_define(
    "scheduling.start.begun", gettext_noop("Starting %(channel)s (action %(action)s).")
)
START_TITLE = message_define("scheduling.start.title", gettext_noop("%(title)s is on air"))
START_FAILED_TITLE = message_define(
    "scheduling.start.failed_title", gettext_noop("%(title)s did not start")
)
START_REMIND_TITLE = message_define(
    "scheduling.start.remind_title", gettext_noop("%(title)s: start %(channel)s now")
)
START_REMIND_TEXT = message_define(
    "scheduling.start.remind_text",
    gettext_noop("This schedule does not start automatically: start the channel by hand."),
)
START_BLOCKED = message_define(
    "scheduling.start.blocked",
    gettext_noop("Not started: the last pre-air check failed and this schedule asks to wait."),
)
START_LATE = message_define(
    "scheduling.start.late", gettext_noop("Started %(s)s s late (the workers were away).")
)
STOP_BEGUN = message_define(
    "scheduling.stop.begun", gettext_noop("Stopping %(channel)s (action %(action)s).")
)
STOP_TITLE = message_define("scheduling.stop.title", gettext_noop("%(title)s has ended"))
STOP_FAILED_TITLE = message_define(
    "scheduling.stop.failed_title", gettext_noop("%(title)s: %(channel)s did not stop")
)
STOP_REMIND_TITLE = message_define(
    "scheduling.stop.remind_title", gettext_noop("%(title)s has ended: stop %(channel)s")
)
STOP_REMIND_TEXT = message_define(
    "scheduling.stop.remind_text",
    gettext_noop("This schedule does not stop automatically: stop the channel by hand."),
)
NEVER_ON_AIR = message_define(
    "scheduling.stop.never_on_air", gettext_noop("%(title)s ended without going on air")
)
MISSED_TITLE = message_define("scheduling.missed.title", gettext_noop("%(title)s: %(step)s missed"))
MISSED_TEXT = message_define(
    "scheduling.missed.text",
    gettext_noop(
        "The step was due %(due)s and was found %(s)s s late, beyond the grace period of "
        "%(grace)s s: it was not run. Act by hand if it is still needed."
    ),
)
INTERRUPTED_TITLE = message_define(
    "scheduling.interrupted.title", gettext_noop("%(title)s: %(channel)s went off air")
)
INTERRUPTED_TEXT = message_define(
    "scheduling.interrupted.text",
    gettext_noop("The channel is %(state)s before the end of the schedule (%(ends)s)."),
)
BUSY_RETRY = message_define(
    "scheduling.step.busy", gettext_noop("Not begun yet (%(error)s); retried on the next tick.")
)
GUARD_ON_AIR = message_define(
    "scheduling.guard.on_air",
    gettext_noop("“%(title)s” is on air on %(channel)s until %(ends)s (schedule %(id)s)."),
)

# --- the daily report ---------------------------------------------------------------------
DAILY_REPORT_TITLE = message_define(
    "scheduling.daily_report.title", gettext_noop("Daily broadcast report %(day)s")
)
