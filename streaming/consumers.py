"""The live-monitoring WebSocket: binary JPEG frames, small JSON status messages.

Flow control is end to end: after each binary frame the client sends ``ack`` (or
``{"type": "ack"}``) and is sent nothing newer until then; frames that appear meanwhile
are skipped and it gets the newest one. A stalled browser therefore costs one frame of
server memory, never a queue.
"""

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from broadcastops.accounts.roles import Role, user_has_role
from streaming.hub import ViewerSlot, hub_get
from streaming.media import rendition_width
from streaming.producer import ProducerSpec
from streaming.runtime import control_group

logger = logging.getLogger(__name__)

_CLOSE_FORBIDDEN = 4403
_CLOSE_BAD_REQUEST = 4400


def _number(params: dict, name: str, low: float, high: float) -> float | None:
    raw = params.get(name, [""])[0]
    if not raw:
        return None
    value = float(raw)
    if not low <= value <= high:
        raise ValueError(name)
    return value


class LiveMonitoringConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.camera_id = self.scope["url_route"]["kwargs"]["camera_id"]
        self.slot = None
        user = self.scope.get("user")
        if user is None or not await database_sync_to_async(user_has_role)(user, Role.VIEWER):
            logger.info("WebSocket refused camera=%s: no viewer role", self.camera_id)
            await self.close(code=_CLOSE_FORBIDDEN)
            return
        params = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            requested_width = _number(params, "width", 16, 7680)
            max_fps = _number(params, "fps", 1, 60) or 0.0
        except ValueError:
            await self.accept()
            await self.send(
                text_data=json.dumps(
                    {"type": "error", "message": "width must be 16-7680 and fps 1-60."}
                )
            )
            await self.close(code=_CLOSE_BAD_REQUEST)
            return
        await self.accept()
        self.hub = hub_get()
        feed = self.hub.feed(self.camera_id)
        if feed.spec is None:
            await feed.spec_reload()
        native = feed.spec.native_width() if feed.spec else 0
        width = rendition_width(
            requested=int(requested_width) if requested_width else None,
            native_width=native or 10**6,
            allowed=settings.STREAMING_RENDITION_WIDTHS,
        )
        self.slot = ViewerSlot(
            width=width, max_fps=max_fps, send=self._send_frame, send_status=self._send_status
        )
        await self.channel_layer.group_add(control_group(self.camera_id), self.channel_name)
        self.feed = await self.hub.join(self.camera_id, self.slot)
        logger.debug("Viewer joined camera=%s width=%s", self.camera_id, width)

    async def _send_frame(self, data: bytes) -> None:
        await self.send(bytes_data=data)

    async def _send_status(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))

    async def dispatch(self, message):
        # Channels runs close_old_connections() in the one thread-sensitive executor thread
        # before every message. Acknowledgements arrive 30 times a second per viewer and touch
        # no database; that thread hop cost ~300 µs each and capped 300 viewers at 7 fps.
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
            return
        await super().dispatch(message)

    async def receive(self, text_data=None, bytes_data=None):
        if self.slot is None or text_data is None:
            return
        if text_data == "ack" or _is_ack(text_data):
            await self.feed.on_acknowledge(self.slot)

    async def disconnect(self, code):
        if self.slot is not None:
            self.hub.leave(self.camera_id, self.slot)
            await self.channel_layer.group_discard(control_group(self.camera_id), self.channel_name)

    async def stream_session(self, event):
        """A control message from a service: the camera's session started, changed or ended."""
        spec = ProducerSpec(**event["spec"]) if event.get("spec") else None
        self.hub.spec_set(self.camera_id, spec)
        message = self.feed.status(self.slot)
        message["type"] = "session"
        await self._send_status(message)


def _is_ack(text: str) -> bool:
    try:
        return json.loads(text).get("type") == "ack"
    except (ValueError, AttributeError):
        return False
