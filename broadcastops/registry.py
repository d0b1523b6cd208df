"""The one place where apps plug into the core.

The core (``broadcastops/``) never imports a feature app, yet some of its work depends on
them: a schedule may forbid stopping a channel, the failover audit runs after every poll,
live monitoring reports its own health. Each such dependency is an *extension point* below;
an app registers into it from its ``AppConfig.ready()``, and the core asks the point when it
needs the answers. One mechanism for all of them, instead of a list with its own
``*_register`` function in each module.

    # failover/apps.py
    def ready(self):
        from broadcastops import registry
        from failover.services import failover_audit_after_poll, failover_fix_run

        registry.AFTER_POLL.register(failover_audit_after_poll)
        registry.ACTION_RUNNERS.register(failover_fix_run, key="channel.failover_fix")

The points:

``ACTION_RUNNERS`` (keyed by action kind, e.g. ``"channel.restart"``)
    ``runner(run: broadcastops.actions.runs.ActionRun) -> Outcome``: does the work of a
    claimed action in the Celery task (``broadcastops.actions``). The app that owns the
    resource registers it; a kind has exactly one runner.
``ACTION_GUARDS``
    ``guard(target: broadcastops.actions.types.Target, verb: str) -> str | None``: a reason
    to refuse ``verb`` (``"start"``, ``"stop"``, ``"restart"``: what happens to the resource)
    or ``None``. Asked before an action is claimed; an explicit override acts anyway and the
    reasons are recorded.
``AFTER_POLL``
    ``hook(report: broadcastops.inventory.services.sync.PollReport) -> None``: runs after
    every inventory poll, outside its transaction; an error is logged, never breaks polling.
``HEALTH_CHECKS`` (keyed by the name shown in ``/healthz``)
    ``check() -> dict``: extra facts for the report; raise ``health.HealthWarning`` for a
    degraded feature (still 200), any other exception for a failing part (503).
``CHANNEL_ADMIN_COLUMNS``, ``CHANNEL_ADMIN_ACTIONS``
    admin display callables and admin actions added to the live channel list.
``ON_AIR_LOOKUP``
    ``lookup(*, stream_id: str, host: str, at: datetime) -> broadcastops.on_air.OnAir | None``:
    the show on air on a player's stream (a MediaMTX path, ``host`` the WHEP server's
    ``host[:port]``, ``""`` when unknown) at ``at`` according to the app that keeps the
    schedules; ``None`` when it knows of none. Asked through ``broadcastops.on_air.on_air_lookup``
    (errorlogs' incidents name the show an outage hit): the first answer wins, an error is
    logged and counts as no answer.
``HTTP_ENDPOINTS`` (keyed by the request path, e.g. ``"/api/v1/error-logs/mediamtx"``)
    ``endpoint(scope, receive, send)``: an ASGI callable that serves that one path in place of
    Django's handler (``broadcastops.request_guard``), for a route whose traffic Django's
    per-request cost would not carry. The route's body limit still applies before it runs;
    no middleware does: the endpoint answers CORS, security headers and its own errors itself.
``HTTP_LEAN_ENDPOINTS`` (keyed by the request path)
    ``endpoint(request: asgi_types.LeanRequest) -> Answer | LeanBody``: the same path's POST
    in the web process (``broadcastops.webserver``), answered from Twisted's request without
    daphne's ``process()``, an ASGI scope or an application task, when it declares a length
    within the path's body limit; anything else (another method, chunked, over the limit,
    ``Expect``) still goes to the path's ``HTTP_ENDPOINTS`` callable. An ``Answer`` refuses
    the request before its body; a ``LeanBody`` gets the body and a reply callable.
``WEB_SHUTDOWN``
    ``async drain() -> None``: awaited by the web process (``broadcastops.webserver``) when it
    is told to stop (SIGTERM), before the requests still running are cancelled, for at most
    ``WEB_SHUTDOWN_DRAIN_S`` in all: finish what was accepted, refuse what comes meanwhile.

Registering the same callable twice is a no-op (``ready()`` may run more than once in tests);
a keyed point refuses a second, different callable for a key, so two apps never silently
replace each other's runner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured

F = TypeVar("F", bound=Callable[..., Any])


class ExtensionPoint(Generic[F]):
    """An ordered set of callables registered by apps (keyed: one callable per key)."""

    def __init__(self, name: str, *, keyed: bool = False) -> None:
        self.name = name
        self.keyed = keyed
        self._items: dict[Any, F] = {}

    def register(self, fn: F, *, key: str | None = None) -> F:
        if self.keyed and not key:
            raise ImproperlyConfigured(f"{self.name}: register with a key")
        slot: Any = key if self.keyed else fn
        current = self._items.get(slot)
        if current is not None and current is not fn:
            raise ImproperlyConfigured(f"{self.name}: {key!r} is already registered ({current})")
        self._items[slot] = fn
        return fn

    def unregister(self, fn: F, *, key: str | None = None) -> None:
        slot: Any = key if self.keyed else fn
        if self._items.get(slot) is fn:
            del self._items[slot]

    @contextlib.contextmanager
    def registered(self, fn: F, *, key: str | None = None) -> Iterator[F]:
        """Register ``fn`` for the duration of a ``with`` block (tests)."""
        self.register(fn, key=key)
        try:
            yield fn
        finally:
            self.unregister(fn, key=key)

    def all(self) -> list[F]:
        return list(self._items.values())

    def items(self) -> list[tuple[str, F]]:
        if not self.keyed:
            raise TypeError(f"{self.name} is not keyed")
        return list(self._items.items())

    def get(self, key: str) -> F | None:
        return self._items.get(key) if self.keyed else None

    def __repr__(self) -> str:
        return f"<ExtensionPoint {self.name}: {len(self._items)} registered>"


ACTION_RUNNERS: ExtensionPoint[Callable[..., Any]] = ExtensionPoint("action_runners", keyed=True)
ACTION_GUARDS: ExtensionPoint[Callable[..., str | None]] = ExtensionPoint("action_guards")
AFTER_POLL: ExtensionPoint[Callable[..., None]] = ExtensionPoint("after_poll")
HEALTH_CHECKS: ExtensionPoint[Callable[[], dict[str, Any]]] = ExtensionPoint(
    "health_checks", keyed=True
)
CHANNEL_ADMIN_COLUMNS: ExtensionPoint[Callable[..., Any]] = ExtensionPoint("channel_admin_columns")
CHANNEL_ADMIN_ACTIONS: ExtensionPoint[Callable[..., Any]] = ExtensionPoint("channel_admin_actions")
ON_AIR_LOOKUP: ExtensionPoint[Callable[..., Any]] = ExtensionPoint("on_air_lookup")
HTTP_ENDPOINTS: ExtensionPoint[Callable[..., Awaitable[None]]] = ExtensionPoint(
    "http_endpoints", keyed=True
)
HTTP_LEAN_ENDPOINTS: ExtensionPoint[Callable[..., Any]] = ExtensionPoint(
    "http_lean_endpoints", keyed=True
)
WEB_SHUTDOWN: ExtensionPoint[Callable[[], Awaitable[None]]] = ExtensionPoint("web_shutdown")
