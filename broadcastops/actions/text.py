"""Sentences that are stored now and read later, in the reader's language.

A progress line is written by a Celery worker (which has no reader, so no language) and read
by an operator in Korean, another in Traditional Chinese, a log in English. So it is stored as
its message id (the English sentence, marked with ``gettext_noop`` where it is written, so the
catalogues have it) and its parameters, and rendered when it is read: ``Text.render()`` under
the reader's active language. A parameter may itself be a ``Text`` (a cloud error inside an
outcome), rendered the same way. The English rendering is stored next to it for logs, search
and rows written before this existed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from broadcastops.masking import secrets_hide


@dataclass(frozen=True)
class Text:
    """A translatable sentence with ``%(name)s`` parameters, rendered when read."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """In the active language (a request's, or ``translation.override``)."""
        values = {k: _render_value(v) for k, v in self.params.items()}
        translated = gettext(self.msgid) if self.msgid else ""
        for sentence in (translated, self.msgid):
            try:
                return sentence % values if values else sentence
            except (KeyError, ValueError, TypeError):  # a translation that lost a parameter
                continue
        return self.msgid

    def english(self) -> str:
        with translation.override("en"):
            return self.render()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.msgid, "params": {k: _json_value(v) for k, v in self.params.items()}}

    def hidden(self) -> Text:
        """The same sentence with no secret in its parameters (``masking.secrets_hide``): a
        stream key or a secret setting's value never goes into a stored line."""
        return Text.from_json({"id": self.msgid, "params": secrets_hide(self.to_json()["params"])})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Text:
        params = {k: _from_json_value(v) for k, v in (data.get("params") or {}).items()}
        return cls(str(data.get("id") or ""), params)


def text(msgid: str, **params: Any) -> Text:
    """``text(gettext_noop("Stopping %(name)s."), name=...)``: mark with gettext_noop where
    the sentence is written, so the catalogues extract it."""
    return Text(msgid, params)


def plain(value: str) -> Text:
    """A sentence that is not translated (a cloud's own message)."""
    return Text("%(text)s", {"text": value})


def text_render(stored: Mapping[str, Any] | None, fallback: str = "") -> str:
    """A stored ``{"id", "params"}`` in the active language; ``fallback`` when there is none.
    Secrets are hidden in it (rows written before lines were hidden on the way in)."""
    if stored and stored.get("id"):
        return str(secrets_hide(Text.from_json(stored).render()))
    return str(secrets_hide(fallback))


def _is_text_json(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"id", "params"}


def _from_json_value(value: Any) -> Any:
    if _is_text_json(value):
        return Text.from_json(value)
    if isinstance(value, list):
        return [_from_json_value(v) for v in value]
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, Text):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _render_value(value: Any) -> Any:
    if isinstance(value, Text):
        return value.render()
    if isinstance(value, list | tuple):
        return ", ".join(str(_render_value(v)) for v in value)
    return value
