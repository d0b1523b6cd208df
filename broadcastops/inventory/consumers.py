"""The live dashboard over WebSocket: summary and channels, pushed when they change.

One ``DashboardFeed`` per process (per event loop) reads the dashboard once per
``DASHBOARD_REFRESH_S`` for all its sockets, renders it once per language they read, and
gives each socket its language's text; a socket sends only what differs from what it sent
last. So a refresh costs the same few queries with one socket or a hundred. The refresh works
whichever process polled the cloud; the poll and the failover audit also nudge the
``inventory.dashboard`` group, which the feed (not each socket) belongs to: a nudge is one
message per web process and one read, however many sockets are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import translation

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.aio import task_cancel
from broadcastops.i18n import language_from_scope
from broadcastops.inventory.selectors import dashboard_get
from broadcastops.inventory.services.dashboard import DASHBOARD_GROUP
from broadcastops.websocket_messages import BadMessage, close_for, json_of, text_of

logger = logging.getLogger(__name__)


def dashboard_texts(*, languages: list[str]) -> dict[str, str]:
    """The dashboard read once, as JSON text in each of ``languages``."""
    snapshot = dashboard_get()
    texts = {}
    for language in languages:
        with translation.override(language):
            texts[language] = json.dumps(snapshot, cls=DjangoJSONEncoder, ensure_ascii=False)
    return texts


class DashboardFeed:
    """One reading of the dashboard per refresh, shared by every socket of this loop."""

    def __init__(self) -> None:
        self.sockets: set[DashboardConsumer] = set()
        self.texts: dict[str, str] = {}
        self.read_at = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listener: asyncio.Task | None = None

    async def join(self, socket: DashboardConsumer) -> None:
        self.sockets.add(socket)
        fresh = time.monotonic() - self.read_at < settings.DASHBOARD_REFRESH_S
        if fresh and socket.language in self.texts:
            await socket.offer(self.texts[socket.language])
        else:
            self.wake()
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        if self._listener is None or self._listener.done():
            self._listener = loop.create_task(self._listen())

    def leave(self, socket: DashboardConsumer) -> None:
        self.sockets.discard(socket)
        if not self.sockets:
            for task in (self._task, self._listener):
                task_cancel(task)  # the listener's receive can swallow a first cancel
            self._task = self._listener = None

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        """Wake on the poll's nudges (``services.dashboard.dashboard_nudge``)."""
        layer = get_channel_layer()
        if layer is None:
            return
        # The default prefix, as every socket's: see health._layer_roundtrip.
        name = await layer.new_channel()
        await layer.group_add(DASHBOARD_GROUP, name)
        try:
            while True:
                await layer.receive(name)
                self.wake()
        except Exception:  # the timer still refreshes; say why nudges stopped arriving
            logger.exception("Dashboard feed stopped listening for nudges")
        finally:
            await layer.group_discard(DASHBOARD_GROUP, name)

    async def _run(self) -> None:
        while self.sockets:
            self._wake.clear()
            try:
                await self._refresh()
            except Exception:  # one bad read must not stop the updates
                logger.exception("Dashboard refresh failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=settings.DASHBOARD_REFRESH_S)

    async def _refresh(self) -> None:
        languages = sorted({s.language for s in self.sockets})
        self.texts = await database_sync_to_async(dashboard_texts)(languages=languages)
        self.read_at = time.monotonic()
        for socket in list(self.sockets):
            text = self.texts.get(socket.language)
            if text is not None:
                await socket.offer(text)


_feeds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DashboardFeed] = (
    weakref.WeakKeyDictionary()
)


def dashboard_feed() -> DashboardFeed:
    """This event loop's feed (daphne runs one loop per process; tests one per test)."""
    loop = asyncio.get_running_loop()
    feed = _feeds.get(loop)
    if feed is None:
        feed = _feeds[loop] = DashboardFeed()
    return feed


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Viewers and up; the texts in the language of the page that opened the socket."""

    # No channel of its own: nudges reach the process's one feed (``DashboardFeed._listen``).
    # With the Redis layer, a channel per socket was a BZPOPMIN per socket, and the receive
    # Channels cancels at disconnect could swallow the cancel and poll on for good
    # (``broadcastops.aio``).
    channel_layer_alias = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = user is not None and await database_sync_to_async(user_has_role)(
            user, Role.VIEWER
        )
        if not allowed:
            await self.close(code=4403)
            return
        self.language = language_from_scope(self.scope)
        self._last: str | None = None
        self._feed = dashboard_feed()
        await self.accept()
        await self._feed.join(self)

    async def disconnect(self, code: int) -> None:
        feed = getattr(self, "_feed", None)
        if feed is not None:
            feed.leave(self)

    async def offer(self, text: str) -> None:
        """Send ``text`` unless it is what this socket sent last."""
        if text != self._last:
            self._last = text
            await self.send(text_data=text)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: object
    ) -> None:
        """Clients need send nothing; what they send must be a JSON object (else closed)."""
        try:
            message = json_of(text_of({"text": text_data}))
            if not isinstance(message, dict):
                raise BadMessage("messages on the dashboard socket are JSON objects")
        except BadMessage as error:
            await close_for(self.base_send, error, what="dashboard")
