"""The live-monitoring WebSocket: binary JPEG frames, small JSON status messages.

Flow control is end to end: the server sends at most ``ack_window`` frames (a field of
every status message, ``STREAMING_ACK_WINDOW``, 8 by default) that the client has not
acknowledged, and nothing newer until an acknowledgement comes; frames that appear
meanwhile are skipped and the client gets the newest one. ``ack`` (or ``{"type": "ack"}``)
acknowledges one frame, ``ack 8`` (or ``{"type": "ack", "frames": 8}``) eight, so a client
may acknowledge once per window. A stalled browser therefore costs at most a window of
frames of server memory, never a queue.

This is a plain ASGI application rather than a Channels consumer: every viewer sends an
acknowledgement 30 times a second, and a consumer's dispatch (a new task and an
``asyncio.wait`` per message, plus a channel-layer receive per viewer) cost more CPU than
sending the frame itself. The session's authentication middleware still wraps it
(broadcastops/asgi.py), and session changes reach the viewers through the hub, which
listens on the channel layer once per camera and process.
"""

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.asgi_types import Receive, Scope, Send
from broadcastops.websocket_broadcast import broadcast_writer
from streaming.hub import ViewerSlot, hub_get
from streaming.media import rendition_width

logger = logging.getLogger(__name__)

_CLOSE_FORBIDDEN = 4403
_CLOSE_BAD_REQUEST = 4400


def _number(params: dict[str, list[str]], name: str, low: float, high: float) -> float | None:
    raw = params.get(name, [""])[0]
    if not raw:
        return None
    value = float(raw)
    if not low <= value <= high:
        raise ValueError(name)
    return value


async def live_monitoring_socket(scope: Scope, receive: Receive, send: Send) -> None:
    """One viewer's socket, from the handshake to the disconnect."""
    if (await receive())["type"] != "websocket.connect":
        return
    camera_id = scope["url_route"]["kwargs"]["camera_id"]
    user = scope.get("user")
    if user is None or not await database_sync_to_async(user_has_role)(user, Role.VIEWER):
        logger.info("WebSocket refused camera=%s: no viewer role", camera_id)
        await send({"type": "websocket.close", "code": _CLOSE_FORBIDDEN})
        return
    params = parse_qs(scope.get("query_string", b"").decode())
    try:
        requested_width = _number(params, "width", 16, 7680)
        max_fps = _number(params, "fps", 1, 60) or 0.0
    except ValueError:
        message = {"type": "error", "message": "width must be 16-7680 and fps 1-60."}
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(message)})
        await send({"type": "websocket.close", "code": _CLOSE_BAD_REQUEST})
        return
    await send({"type": "websocket.accept"})

    hub = hub_get()
    feed = hub.feed(camera_id)
    if feed.spec is None:
        await feed.spec_reload()
    native = feed.spec.native_width() if feed.spec else 0
    width = rendition_width(
        requested=int(requested_width) if requested_width else None,
        native_width=native or 10**6,
        allowed=settings.STREAMING_RENDITION_WIDTHS,
    )

    # Under daphne, frames skip the ASGI message: framed once, written straight to the socket
    # (broadcastops/websocket_broadcast.py). Text keeps to ASGI; the order holds either way.
    write = broadcast_writer(send)

    async def send_frame(data: bytes) -> None:
        if write is not None:
            write(data)
        else:
            await send({"type": "websocket.send", "bytes": data})

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    slot = ViewerSlot(
        width=width,
        max_fps=max_fps,
        send=send_frame,
        send_text=send_text,
        window=settings.STREAMING_ACK_WINDOW,
    )
    feed = await hub.join(camera_id, slot)
    logger.debug("Viewer joined camera=%s width=%s", camera_id, width)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                frames = _acknowledged(message.get("text"))
                if frames:
                    await feed.on_acknowledge(slot, frames)
            elif message["type"] == "websocket.disconnect":
                return
    finally:
        hub.leave(camera_id, slot)


def _acknowledged(text: str | None) -> int:
    """How many frames a text message acknowledges (0: it is no acknowledgement)."""
    if text == "ack":
        return 1
    if text is None:
        return 0
    try:
        if text.startswith("ack "):
            return max(0, int(text[4:]))
        message = json.loads(text)
        if message.get("type") == "ack":
            return max(0, int(message.get("frames", 1)))
    except (ValueError, TypeError, AttributeError):
        pass
    return 0
