"""The sentences of the notifications themselves, and the labels of facts every app uses."""

from django.utils.translation import gettext_noop

from broadcastops.i18n import message_define

FACT_CHANNEL = message_define("notify.fact.channel", gettext_noop("Channel"))
FACT_STATE = message_define("notify.fact.state", gettext_noop("State"))
FACT_INPUT = message_define("notify.fact.input", gettext_noop("Input"))

FLAPPING_TITLE = message_define("notify.flapping.title", gettext_noop("%(subject)s is flapping"))
FLAPPING_TEXT = message_define(
    "notify.flapping.text",
    gettext_noop(
        "%(count)s alerts in the last %(minutes)s min; further alerts for %(subject)s are held "
        "back for %(minutes)s min. Latest: %(latest)s"
    ),
)
