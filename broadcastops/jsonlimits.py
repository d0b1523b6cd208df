"""JSON from clients: how deep it may nest, and DRF's parser that keeps to it.

Kept apart from ``broadcastops.rest`` because DRF reads ``DEFAULT_PARSER_CLASSES`` while
``rest_framework.views`` is first imported, which ``broadcastops.rest`` itself does.
"""

from collections.abc import Iterable, Mapping
from typing import IO, Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

# Deeper JSON than any API here takes; the decoder itself gives up near 1,000 levels with a
# RecursionError, which DRF's parser does not catch (a 500 on every JSON endpoint).
JSON_MAX_DEPTH = 32


def json_depth_exceeds(value: object, limit: int) -> bool:
    """True when ``value`` nests lists and objects more than ``limit`` levels (no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[object]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_too_deep_message(limit: int = JSON_MAX_DEPTH) -> str:
    return _("The JSON is nested more than %(limit)d levels deep.") % {"limit": limit}


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser that answers 400, not 500, to JSON nested too deeply."""

    max_depth = JSON_MAX_DEPTH

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if not json_depth_exceeds(data, self.max_depth):
                return data
        raise exceptions.ParseError(json_too_deep_message(self.max_depth))
