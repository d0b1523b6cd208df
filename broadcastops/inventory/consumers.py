"""The live dashboard over WebSocket: summary and attention list, pushed when they change.

Each socket re-reads the (cheap) dashboard snapshot every ``DASHBOARD_REFRESH_S`` and sends
it only when it differs, which works whichever process polled the cloud; in the scaled mode
the poll also nudges the ``inventory.dashboard`` group so changes arrive at once.
"""

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.inventory.selectors import dashboard_get
from broadcastops.websocket_messages import BadMessage, close_for, json_of, text_of

logger = logging.getLogger(__name__)

GROUP = "inventory.dashboard"


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        allowed = user is not None and await database_sync_to_async(user_has_role)(
            user, Role.VIEWER
        )
        if not allowed:
            await self.close(code=4403)
            return
        self._last = None
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()
        await self._push()
        self._loop = asyncio.create_task(self._refresh_loop())

    async def disconnect(self, code):
        loop = getattr(self, "_loop", None)
        if loop is not None:
            loop.cancel()
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def _refresh_loop(self):
        while True:
            await asyncio.sleep(settings.DASHBOARD_REFRESH_S)
            try:
                await self._push()
            except Exception:  # one bad read must not kill the socket's updates
                logger.exception("Dashboard refresh failed")

    async def _push(self):
        snapshot = await database_sync_to_async(dashboard_get)()
        text = json.dumps(snapshot, cls=DjangoJSONEncoder)
        if text != self._last:
            self._last = text
            await self.send(text_data=text)

    async def dashboard_changed(self, event):
        await self._push()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Clients need send nothing; what they send must be a JSON object (else closed)."""
        try:
            message = json_of(text_of({"text": text_data}))
            if not isinstance(message, dict):
                raise BadMessage("messages on the dashboard socket are JSON objects")
        except BadMessage as error:
            await close_for(self.base_send, error, what="dashboard")
