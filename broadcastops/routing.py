"""WebSocket routes of every app, gathered in one list for the ASGI router."""

from importlib import import_module
from typing import Any

from django.apps import apps


def _collect() -> list[Any]:
    patterns: list[Any] = []
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.routing")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.routing":
                raise
            continue
        patterns.extend(getattr(module, "websocket_urlpatterns", []))
    return patterns


websocket_urlpatterns = _collect()
