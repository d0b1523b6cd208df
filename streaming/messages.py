"""Sentences of live monitoring that are stored (notifications of picture alarms)."""

from django.utils.translation import gettext_noop

from broadcastops.i18n import message_define, message_define_choices
from streaming.models import PictureAlarm

ALARM_KIND = message_define_choices("streaming.alarm.kind", PictureAlarm.Kind)

ALARM_OPENED_TITLE = message_define(
    "streaming.alarm.opened_title", gettext_noop("%(alarm)s on camera %(camera)s")
)
ALARM_RESOLVED_TITLE = message_define(
    "streaming.alarm.resolved_title", gettext_noop("Resolved: %(alarm)s on camera %(camera)s")
)
ALARM_FROZEN_TEXT = message_define(
    "streaming.alarm.frozen_text",
    gettext_noop("The picture has not changed for %(seconds)s s."),
)
ALARM_BLACK_TEXT = message_define(
    "streaming.alarm.black_text", gettext_noop("The picture has been black for %(seconds)s s.")
)
ALARM_LOST_TEXT = message_define(
    "streaming.alarm.lost_text",
    gettext_noop("No frame has come from the camera's producer for %(seconds)s s."),
)
ALARM_RESOLVED_TEXT = message_define(
    "streaming.alarm.resolved_text", gettext_noop("The alarm lasted %(seconds)s s.")
)
FACT_CAMERA = message_define("streaming.fact.camera", gettext_noop("Camera"))
FACT_SESSION = message_define("streaming.fact.session", gettext_noop("Stream session"))
