"""Every sentence errorlogs stores for a person to read later (the incident alerts), as a code
(``broadcastops.i18n``): rendered in the reader's language (the Slack post's, an e-mail
recipient's, the admin's), not in the language of the worker that raised the alert.

Keep the placeholders when changing the English; the code stays. The migration
``0002_alert_messages`` turns alerts stored as text before these codes back into codes where
their text is one of these sentences in one of the console's languages.
"""

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from broadcastops.i18n import Message, MessageKind, Text, message_define, message_define_choices
from errorlogs.models import Incident

VERDICT = message_define_choices("errorlogs.verdict", Incident.Verdict)

SCOPE_STREAM = message_define("errorlogs.scope.stream", gettext_noop("stream %(stream)s"))
NONE_KNOWN = message_define("errorlogs.on_air.none", gettext_noop("none known"))

OPENED_BY_VIEWERS = message_define(
    "errorlogs.incident.opened_viewers",
    gettext_noop("%(viewers)s viewers failing on %(scope)s"),
)
OPENED_BY_PROBE = message_define(
    "errorlogs.incident.opened_probe",
    gettext_noop("Players' server %(scope)s failing: %(verdict)s"),
)
OPENED_TEXT = message_define(
    "errorlogs.incident.opened_text", gettext_noop("Probe: %(verdict)s. On air: %(shows)s.")
)
RESOLVED = message_define(
    "errorlogs.incident.resolved", gettext_noop("Players recovered on %(scope)s")
)
RESOLVED_TEXT = message_define(
    "errorlogs.incident.resolved_text",
    gettext_noop(
        "No failure reported for %(quiet)s s. The outage lasted about %(minutes)s min and "
        "affected %(viewers)s viewers (%(reports)s reports)."
    ),
)

FACT_STREAMS = message_define("errorlogs.fact.streams", gettext_noop("Streams"))
FACT_VIEWERS = message_define("errorlogs.fact.viewers", gettext_noop("Viewers affected"))
FACT_REPORTS = message_define("errorlogs.fact.reports", gettext_noop("Reports"))
FACT_VERDICT = message_define("errorlogs.fact.verdict", gettext_noop("Probe verdict"))
FACT_ON_AIR = message_define("errorlogs.fact.on_air", gettext_noop("On air"))
FACT_FIRST_FAILURE = message_define("errorlogs.fact.first_failure", gettext_noop("First failure"))
SHOWS = message_define("errorlogs.on_air.shows", gettext_noop("%(shows)s"))


# --- alerts stored as text before these codes (the migration 0002_alert_messages) ----------

_PARAM = re.compile(r"%\((\w+)\)s")


def _pattern(kind: MessageKind) -> re.Pattern[str]:
    """The sentence of ``kind`` in the active language, its placeholders as groups."""
    template = gettext(kind.template)
    parts, last = [], 0
    for found in _PARAM.finditer(template):
        parts += [re.escape(template[last : found.start()]), f"(?P<{found.group(1)}>.+?)"]
        last = found.end()
    return re.compile("".join([*parts, re.escape(template[last:])]), re.DOTALL)


def _param(name: str, text: str) -> Any:
    """A parameter as a message again where it was one (a verdict, a stream, "none known")."""
    for kind in [*VERDICT.values(), NONE_KNOWN] if name in ("verdict", "shows") else []:
        if gettext(kind.template) == text:
            return kind()
    if name == "scope" and (stream := _pattern(SCOPE_STREAM).fullmatch(text)):
        return SCOPE_STREAM(stream=stream.group("stream"))
    return text


def message_recover(text: str, kinds: Iterable[MessageKind]) -> Message:
    """The message of ``kinds`` that ``text`` is a rendering of, in one of the console's
    languages, with its parameters; ``Text(text)`` when it is none of them."""
    kinds = list(kinds)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for kind in kinds:
                found = _pattern(kind).fullmatch(text)
                if found is not None:
                    params = {k: _param(k, v) for k, v in found.groupdict().items()}
                    return Message(kind.code, params)
    return Text(text)


ALERT_TITLES = (OPENED_BY_VIEWERS, OPENED_BY_PROBE, RESOLVED)
ALERT_TEXTS = (OPENED_TEXT, RESOLVED_TEXT)
FACT_LABELS = (
    FACT_STREAMS,
    FACT_VIEWERS,
    FACT_REPORTS,
    FACT_VERDICT,
    FACT_ON_AIR,
    FACT_FIRST_FAILURE,
)
