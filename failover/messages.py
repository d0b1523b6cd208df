"""Every sentence of the failover audit, as a stored code (``broadcastops.i18n``).

Verdicts, their reasons, likely causes, console steps and notes are stored with the audit as
codes and parameters and rendered in the reader's language: the admin, the API, the
``failover_audit`` command, the dashboard (through the inventory's protection reason) and
Slack. Keep the placeholders when changing the English; the code stays.
"""

from django.utils.translation import gettext_noop

from broadcastops.i18n import message_define, message_define_choices
from failover.models import Verdict

VERDICT = message_define_choices("failover.verdict", Verdict)
# How sure the MAIN/BACKUP mapping is (failover.audit HIGH, LOW, NONE).
CONFIDENCE = {
    "high": message_define("failover.confidence.high", gettext_noop("high confidence")),
    "low": message_define("failover.confidence.low", gettext_noop("low confidence")),
    "none": message_define("failover.confidence.none", gettext_noop("no mapping")),
}

FACT_VERDICT = message_define("failover.fact.verdict", gettext_noop("Verdict"))
FACT_PRIMARY = message_define("failover.fact.primary", gettext_noop("Primary"))
FACT_BACKUP = message_define("failover.fact.backup", gettext_noop("Backup"))
FACT_BEFORE = message_define("failover.fact.before", gettext_noop("Before"))

# --- the console steps ---------------------------------------------------------------------

STEP_OPEN_CONSOLE = message_define(
    "failover.step.open_console",
    gettext_noop("Open the Tencent Cloud console: StreamLive → Channel Management."),
)
STEP_EDIT_CHANNEL = message_define(
    "failover.step.edit_channel", gettext_noop("Select the channel %(channel)s and click Edit.")
)
STEP_INPUT_SETTINGS = message_define(
    "failover.step.input_settings",
    gettext_noop("Go to Input Settings and make sure Input Failover is switched on."),
)
STEP_SELECT_BACKUP = message_define(
    "failover.step.select_backup",
    gettext_noop(
        "Next to the primary input %(primary)s, open “Backup Input” and select %(backup)s."
    ),
)
STEP_THRESHOLD = message_define(
    "failover.step.threshold",
    gettext_noop("Set Loss Threshold to %(threshold)s ms (3000 ms is recommended)."),
)
STEP_RECOVER_BEHAVIOR = message_define(
    "failover.step.recover_behavior",
    gettext_noop(
        "Set Recover Behavior: CURRENT_PREFERRED stays on the backup after the primary "
        "recovers; PRIMARY_PREFERRED switches back to the primary."
    ),
)
STEP_SAVE = message_define(
    "failover.step.save",
    gettext_noop("Click Save, then run the failover audit again to see the API show it."),
)
STEP_FIX_HERE = message_define(
    "failover.step.fix_here",
    gettext_noop(
        "Or let BroadcastOps do it through the API: the admin action “Fix input failover”, "
        "POST /api/v1/failover/%(channel)s/apply, or `failover_fix %(channel)s --apply`."
    ),
)
STEP_CREATE_INPUTS = message_define(
    "failover.step.create_inputs",
    gettext_noop(
        "Create RTMP_PUSH (or RTP_PUSH) inputs for MAIN and BACKUP in StreamLive → Input "
        "Management, point the StreamLink flows at them, and attach them to %(channel)s; then "
        "set input failover."
    ),
)
STEP_MAP_FLOWS = message_define(
    "failover.step.map_flows",
    gettext_noop(
        "Check that the MAIN and BACKUP StreamLink flows push to this channel's inputs (the "
        "flow's output URL must equal the input's push address), or name the backup yourself: "
        "failover_fix %(channel)s --secondary INPUT_ID."
    ),
)
STEP_WAIT = message_define(
    "failover.step.wait",
    gettext_noop(
        "Wait a few minutes and audit again; if it still does not show, check the channel in "
        "the console: StreamLive → Channel Management → Edit → Input Settings."
    ),
)
THE_MAIN_INPUT = message_define(
    "failover.the_main_input", gettext_noop("(the input fed by the MAIN flow)")
)
THE_BACKUP_INPUT = message_define(
    "failover.the_backup_input", gettext_noop("(the input fed by the BACKUP flow)")
)

# --- likely causes -------------------------------------------------------------------------

CAUSE_NOT_SELECTED = message_define(
    "failover.cause.not_selected",
    gettext_noop(
        "The backup input was never selected in the “Backup Input” drop-down after the Input "
        "Failover toggle was switched on (the most likely cause)."
    ),
)
CAUSE_NOT_SAVED = message_define(
    "failover.cause.not_saved",
    gettext_noop("The settings were changed in the console but never saved (Save not clicked)."),
)
CAUSE_NOT_SYNCED = message_define(
    "failover.cause.not_synced",
    gettext_noop(
        "The API has not caught up with a change made in the console a moment ago: audit "
        "again in a few minutes."
    ),
)
CAUSE_NOT_MAPPED = message_define(
    "failover.cause.not_mapped",
    gettext_noop(
        "Nobody mapped which input is MAIN and which is BACKUP: several inputs are attached and "
        "the StreamLink flows feeding them were not matched to them."
    ),
)
CAUSE_NOT_MAPPED_KNOWN = message_define(
    "failover.cause.not_mapped_known",
    gettext_noop(
        "With %(count)s inputs attached, which is MAIN and which BACKUP may never have been "
        "mapped in the console; the StreamLink flows say MAIN → %(primary)s, BACKUP → "
        "%(backup)s."
    ),
)
CAUSE_DETACHED = message_define(
    "failover.cause.detached",
    gettext_noop(
        "The backup input was detached, replaced or re-created after failover was set, or a "
        "wrong input was picked."
    ),
)
CAUSE_NEVER_ENABLED = message_define(
    "failover.cause.never_enabled",
    gettext_noop("Input failover was never switched on for this channel (or was switched off)."),
)

# --- the MAIN/BACKUP mapping ---------------------------------------------------------------

BASIS_ENDPOINTS = message_define(
    "failover.basis.endpoints", gettext_noop("StreamLink flows matched by endpoint")
)
BASIS_NAMES = message_define("failover.basis.names", gettext_noop("input names (low confidence)"))
BASIS_OTHER_INPUT = message_define(
    "failover.basis.other_input", gettext_noop("the only other attached input (low confidence)")
)
BASIS_ORDER = message_define(
    "failover.basis.order", gettext_noop("the attachment order (low confidence)")
)
NOTE_FLOWS_FEED_SEVERAL = message_define(
    "failover.note.flows_feed_several",
    gettext_noop("%(role)s flows feed several inputs (%(inputs)s): not decisive."),
)
NOTE_FLOWS_FEED_SAME = message_define(
    "failover.note.flows_feed_same",
    gettext_noop("The MAIN and the BACKUP flow feed the same input %(input)s: not decisive."),
)
NOTE_LOW_CONFIDENCE = message_define(
    "failover.note.low_confidence",
    gettext_noop(
        "MAIN/BACKUP was inferred from %(basis)s, not from the flows' endpoints: confirm it "
        "before air."
    ),
)
NOTE_OTHER_PRIMARY = message_define(
    "failover.note.other_primary",
    gettext_noop(
        "The configured primary %(configured)s is not the input fed by the MAIN flow "
        "(%(primary)s): check that this is intended."
    ),
)
NOTE_NO_CALLBACKS = message_define(
    "failover.note.no_callbacks",
    gettext_noop(
        "No push callbacks are configured: a failover reaches the console only by polling "
        "(10-20 s). Configure them with: manage.py configure_callbacks %(channel)s"
    ),
)

NOTE_CALLBACKS_MISSING = message_define(
    "failover.note.callbacks_missing",
    gettext_noop(
        "Push callbacks are configured (%(url)s) but none arrived when the channel switched "
        "inputs: check that the cloud can reach that address."
    ),
)

NOTE_ONE_INPUT = message_define(
    "failover.note.one_input",
    gettext_noop("Only one input is attached: attach a backup input of the same type first."),
)

# --- verdict reasons -----------------------------------------------------------------------

REASON_NO_SETTINGS = message_define(
    "failover.reason.no_settings",
    gettext_noop("%(input)s has no FailOverSettings: failover is off."),
)
REASON_UNSUPPORTED_TYPE = message_define(
    "failover.reason.unsupported_type",
    gettext_noop(
        "Failover is asked of %(input)s, a %(type)s input; StreamLive documents input failover "
        "for RTMP_PUSH and RTP_PUSH inputs only."
    ),
)
REASON_NO_BACKUP = message_define(
    "failover.reason.no_backup",
    gettext_noop(
        "Input failover is switched on for %(input)s but no backup input is selected "
        "(SecondaryInputId is empty, LossThreshold %(threshold)s): it has no protection."
    ),
)
REASON_SELF_BACKUP = message_define(
    "failover.reason.self_backup", gettext_noop("%(input)s names itself as its backup input.")
)
REASON_BACKUP_NOT_ATTACHED = message_define(
    "failover.reason.backup_not_attached",
    gettext_noop("The backup input %(backup)s of %(input)s is not attached to this channel."),
)
REASON_TYPE_MISMATCH = message_define(
    "failover.reason.type_mismatch",
    gettext_noop(
        "The backup input %(backup)s is %(backup_type)s but the primary %(input)s is %(type)s: "
        "StreamLive needs both of the same type."
    ),
)
REASON_THRESHOLD = message_define(
    "failover.reason.threshold",
    gettext_noop(
        "LossThreshold of %(input)s is %(threshold)s ms; StreamLive accepts 1000 to 86400000 ms "
        "(3000 ms is recommended)."
    ),
)
REASON_PROTECTED = message_define(
    "failover.reason.protected",
    gettext_noop(
        "%(input)s fails over to %(backup)s after %(threshold)s ms without signal (%(rb)s)."
    ),
)
REASON_IS_BACKUP = message_define(
    "failover.reason.is_backup",
    gettext_noop("%(input)s is the backup of %(primary)s; it needs no settings of its own."),
)
REASON_NO_INPUT = message_define(
    "failover.reason.no_input", gettext_noop("No input is attached to this channel.")
)
REASON_OFF = message_define(
    "failover.reason.off",
    gettext_noop(
        "Input failover is off: no input has FailOverSettings. If the MAIN input stops, the "
        "channel shows the loss image instead of switching to BACKUP."
    ),
)
REASON_AMBIGUOUS = message_define(
    "failover.reason.ambiguous",
    gettext_noop(
        "%(count)s inputs are attached and no StreamLink flow or input name tells which is "
        "MAIN and which is BACKUP. %(settings)s"
    ),
)
REASON_PENDING = message_define(
    "failover.reason.pending",
    gettext_noop(
        "A fix was applied at %(at)s by %(actor)s; the API does not show it yet (currently: "
        "%(current)s)"
    ),
)

# --- notifications -------------------------------------------------------------------------

DRIFT_TITLE = message_define(
    "failover.notify.drift.title",
    gettext_noop("%(name)s: input failover settings changed outside BroadcastOps"),
)
DRIFT_TEXT = message_define(
    "failover.notify.drift.text",
    gettext_noop(
        "Someone changed the channel in the Tencent console (or the API) since the last audit. "
        "Now: %(reason)s"
    ),
)
UNPROTECTED_TITLE = message_define(
    "failover.notify.unprotected.title",
    gettext_noop("%(name)s has no input failover protection"),
)
