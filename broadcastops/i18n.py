"""Sentences stored as codes with parameters, rendered in the reader's language.

A verdict, a diagnosis or a notification is computed once (by a poll, an audit, a worker) but
read by many people in their own languages, so what is stored is never the sentence: it is a
``Message``, a code and its parameters, e.g. ``{"code": "failover.reason.no_backup",
"params": {"input": "cj_onstyle_main (69425CAF...)", "threshold": 0}}``, turned into text by
``gettext`` when someone reads it. Each app defines its sentences once::

    NO_BACKUP = message_define(
        "failover.reason.no_backup",
        gettext_noop("Input failover is switched on for %(input)s but no backup is selected."),
    )
    reason = NO_BACKUP(input=label)          # a Message
    row.reason = reason.as_json()            # stored
    str(Message.from_json(row.reason))       # read: in the active language
    reason.render("ko")                      # or in a given one (a notification's recipient)

The English template is the catalogue's msgid (``gettext_noop`` marks it for extraction);
the code stays when the wording changes, so stored rows follow the new wording. Parameters
are plain values, other messages, or lists of them (joined with the language's separator).
Text that is not ours (a cloud's error message, rows stored before codes existed) is a
``Text``, shown as it is.

``Message`` is a Django ``Promise``: ``format_html``, templates, DRF's and Django's JSON
encoders turn it into text in the active language, like a ``gettext_lazy`` string.

The rest of this module finds the reader's language where there is no request: a WebSocket
handshake (``language_from_scope``) and the command line (``cli_language``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from argparse import ArgumentParser
from collections.abc import Iterable, Iterator, Mapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.db.models import Choices
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext

logger = logging.getLogger(__name__)

_TEMPLATES: dict[str, str] = {}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")

Param = Any  # str | int | float | None | Message | list of those


def _param_json(value: Param) -> Any:
    if isinstance(value, Message):
        return value.as_json()
    if isinstance(value, list | tuple):
        return [_param_json(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, Promise):  # a gettext_lazy label: it cannot be stored; say where
        raise TypeError(f"Store a Message, not a lazy string: {value!r}")
    return str(value)


def _param_from_json(value: Any) -> Param:
    if isinstance(value, dict):
        return Message.from_json(value)
    if isinstance(value, list):
        return [_param_from_json(v) for v in value]
    return value


def _param_text(value: Param) -> str | int | float:
    if isinstance(value, Message):
        return value.render()
    if isinstance(value, list | tuple):
        separator = pgettext("separator between the items of a list", ", ")
        return separator.join(str(_param_text(v)) for v in value)
    if value is None:
        return "-"
    if isinstance(value, str | int | float):
        return value
    return str(value)


class Message(Promise):
    """A sentence as a code and parameters; text only when someone reads it."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, params: Mapping[str, Param] | None = None):
        self.code = code
        self.params = dict(params or {})

    # --- storage ----------------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": {k: _param_json(v) for k, v in self.params.items()}}

    @staticmethod
    def from_json(data: Any) -> Message:
        """A stored message; a plain string (a row from before codes) is shown as it is."""
        if isinstance(data, Message):
            return data
        if isinstance(data, dict) and data.get("code"):
            params = data.get("params") or {}
            return Message(data["code"], {k: _param_from_json(v) for k, v in params.items()})
        if isinstance(data, dict):
            return Text(str(data.get("text", "")))
        return Text("" if data is None else str(data))

    # --- reading ----------------------------------------------------------------------------

    def render(self, language: str | None = None) -> str:
        """The sentence in ``language`` (default: the active one)."""
        if language is not None:
            with translation.override(language):
                return self.render()
        template = _TEMPLATES.get(self.code)
        if template is None:
            # A code no source defines any more: still say what is known.
            logger.warning("Message code %r is not defined", self.code)
            known = ", ".join(f"{k}={_param_text(v)}" for k, v in self.params.items())
            return f"{self.code} ({known})" if known else self.code
        values = {k: _param_text(v) for k, v in self.params.items()}
        try:
            return str(gettext(template) % values)
        except (KeyError, ValueError, TypeError):
            # A translation with a broken placeholder must not hide the sentence.
            logger.warning(
                "Translation of %r is broken in %s", self.code, translation.get_language()
            )
            return template % values

    def __str__(self) -> str:
        return self.render()

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.as_json() == other.as_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.as_json(), sort_keys=True, default=str))

    def __repr__(self) -> str:
        return f"Message({self.code!r}, {self.params!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> Message:
        return self  # immutable by convention: dataclasses.asdict copies nothing


class Text(Message):
    """Text that is not ours to translate (a cloud's message, a row stored before codes)."""

    __slots__ = ()

    def __init__(self, text: str):
        super().__init__("", {"text": text})

    def as_json(self) -> dict[str, Any]:
        return {"text": self.params["text"]}

    def render(self, language: str | None = None) -> str:
        return str(self.params["text"])

    def __bool__(self) -> bool:
        return bool(self.params["text"])

    def __repr__(self) -> str:
        return f"Text({self.params['text']!r})"


class MessageKind:
    """One sentence of the catalogue: call it with its parameters to get a ``Message``."""

    __slots__ = ("code", "placeholders", "template")

    def __init__(self, code: str, template: str):
        self.code = code
        self.template = template
        self.placeholders = frozenset(_PLACEHOLDER.findall(template))

    def __call__(self, **params: Param) -> Message:
        if set(params) != self.placeholders:
            raise TypeError(
                f"{self.code} takes {sorted(self.placeholders)}, was given {sorted(params)}"
            )
        return Message(self.code, params)

    def __repr__(self) -> str:
        return f"MessageKind({self.code!r})"


def message_define(code: str, template: str) -> MessageKind:
    """Register the English ``template`` (wrap it in ``gettext_noop``) under ``code``."""
    known = _TEMPLATES.get(code)
    if known is not None and known != template:
        raise ValueError(f"Message code {code!r} is defined twice with different texts")
    _TEMPLATES[code] = template
    return MessageKind(code, template)


def message_define_choices(prefix: str, choices: type[Choices]) -> dict[str, MessageKind]:
    """A message per member of a ``TextChoices`` whose labels are ``gettext_lazy`` strings:
    ``{value: kind}`` under ``<prefix>.<value>``, the label's msgid as the template."""
    kinds = {}
    with translation.override(None):  # no catalogue active: a lazy label gives its msgid
        for member in choices:
            kinds[member.value] = message_define(f"{prefix}.{member.value}", str(member.label))
    return kinds


def choice_message(kinds: Mapping[str, MessageKind], value: str) -> Message:
    """The label of ``value``; a value no choice names (the cloud's own) as it is."""
    kind = kinds.get(value)
    return kind() if kind is not None else Text(value)


def messages_json(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [m.as_json() for m in messages]


def messages_from_json(data: Iterable[Any] | None) -> list[Message]:
    return [Message.from_json(d) for d in data or ()]


def render_all(messages: Iterable[Message]) -> list[str]:
    return [m.render() for m in messages]


@contextlib.contextmanager
def language_active(language: str | None) -> Iterator[None]:
    """``translation.override`` that leaves the active language alone for ``None``."""
    if language is None:
        yield
        return
    with translation.override(language):
        yield


# --- the reader's language where there is no request -----------------------------------------


def language_supported(code: str | None) -> str | None:
    """The supported language closest to ``code`` (``ko-KR`` -> ``ko``, ``zh_TW`` ->
    ``zh-hant``), or None."""
    if not code:
        return None
    code = code.split(".")[0].split("@")[0].replace("_", "-").lower()
    if code in ("c", "posix"):
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def language_from_scope(scope: Mapping[str, Any]) -> str:
    """A WebSocket's language: ``?lang=`` (the page's own), the language cookie, then
    ``Accept-Language``, as ``LocaleMiddleware`` decides for a page."""
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    chosen = language_supported((query.get("lang") or [""])[0])
    if chosen:
        return chosen
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    cookie = SimpleCookie()
    with contextlib.suppress(Exception):
        cookie.load(headers.get("cookie", ""))
    morsel = cookie.get(settings.LANGUAGE_COOKIE_NAME)
    chosen = language_supported(morsel.value if morsel else "")
    if chosen:
        return chosen
    from django.utils.translation.trans_real import parse_accept_lang_header

    for code, _quality in parse_accept_lang_header(headers.get("accept-language", "")):
        if code != "*" and (chosen := language_supported(code)):
            return chosen
    return settings.LANGUAGE_CODE


def language_argument_add(parser: ArgumentParser) -> None:
    """A command's ``--language`` option (read with ``cli_language``)."""
    parser.add_argument(
        "--language",
        help="en, ko or zh-hant (default: the shell's LANG when it is one of them, else en)",
    )


def cli_language(explicit: str | None = None) -> str:
    """A command's language: ``--language``, else the shell's locale (``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``) when it names one the console speaks, else English."""
    if explicit:
        chosen = language_supported(explicit)
        if chosen is None:
            from django.core.management.base import CommandError

            codes = ", ".join(code for code, _name in settings.LANGUAGES)
            raise CommandError(f"Unknown language {explicit!r}; use one of {codes}.")
        return chosen
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return language_supported(value) or settings.LANGUAGE_CODE
    return settings.LANGUAGE_CODE
