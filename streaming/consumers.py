"""The live-monitoring WebSocket: binary JPEG frames, small JSON status messages.

Flow control is end to end: the server sends at most ``ack_window`` frames (a field of
every status message, ``STREAMING_ACK_WINDOW``, 8 by default) that the client has not
acknowledged, and nothing newer until an acknowledgement comes; frames that appear
meanwhile are skipped and the client gets the newest one. ``ack`` (or ``{"type": "ack"}``)
acknowledges one frame, ``ack 8`` (or ``{"type": "ack", "frames": 8}``) eight, so a client
may acknowledge once per window. A stalled browser therefore costs at most a window of
frames of server memory, never a queue. Any other message (binary, not an acknowledgement,
a count outside 1-10000) closes the socket with 1003 or 1008 and a reason
(``broadcastops.websocket_messages``).

This is a plain ASGI application rather than a Channels consumer: every viewer sends an
acknowledgement 30 times a second, and a consumer's dispatch (a new task and an
``asyncio.wait`` per message, plus a channel-layer receive per viewer) cost more CPU than
sending the frame itself. The session's authentication middleware still wraps it
(broadcastops/asgi.py), and session changes reach the viewers through the hub, which
listens on the channel layer once per camera and process.
"""

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from django.conf import settings

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.asgi_types import Receive, Scope, Send
from broadcastops.websocket_broadcast import broadcast_writer
from broadcastops.websocket_messages import BadMessage, close_for, json_of, text_of
from streaming.camera_ids import camera_id_message, camera_id_valid
from streaming.hub import CameraFeed, ViewerSlot, WallTileSlot, hub_get
from streaming.media import rendition_width

logger = logging.getLogger(__name__)

_CLOSE_FORBIDDEN = 4403
_CLOSE_BAD_REQUEST = 4400


async def _refuse(send: Send, message: str, *, what: str) -> None:
    """Accept only to say why, then close with 4400 (a handshake refusal carries no text)."""
    logger.info("WebSocket refused %s: %s", what, message)
    await send({"type": "websocket.accept"})
    await send(
        {"type": "websocket.send", "text": json.dumps({"type": "error", "message": message})}
    )
    await send({"type": "websocket.close", "code": _CLOSE_BAD_REQUEST, "reason": message[:120]})


def _number(params: dict[str, list[str]], name: str, low: float, high: float) -> float | None:
    raw = params.get(name, [""])[0]
    if not raw:
        return None
    value = float(raw)
    if not low <= value <= high:
        raise ValueError(name)
    return value


def _senders(
    send: Send,
) -> tuple[Callable[[bytes], Awaitable[None]], Callable[[str], Awaitable[None]]]:
    """How a socket sends a frame and a text. Under daphne, frames skip the ASGI message:
    framed once, written straight to the socket (broadcastops/websocket_broadcast.py). Text
    keeps to ASGI; the order holds either way."""
    write = broadcast_writer(send)

    # A send to a socket that has just closed is dropped: its disconnect is on its way to the
    # receive loop, which ends the session (daphne raises autobahn's Disconnected, the ASGI
    # spec an OSError; either one ended a wall still joining its tiles with an ERROR logged).
    async def send_frame(data: bytes) -> None:
        if write is not None:
            write(data)
        else:
            with contextlib.suppress(Disconnected, OSError):
                await send({"type": "websocket.send", "bytes": data})

    async def send_text(text: str) -> None:
        with contextlib.suppress(Disconnected, OSError):
            await send({"type": "websocket.send", "text": text})

    return send_frame, send_text


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
    if not camera_id_valid(camera_id):
        await _refuse(send, camera_id_message(), what=f"camera={camera_id!r}")
        return
    params = parse_qs(scope.get("query_string", b"").decode())
    try:
        requested_width = _number(params, "width", 16, 7680)
        max_fps = _number(params, "fps", 1, 60) or 0.0
    except ValueError:
        await _refuse(send, "width must be 16-7680 and fps 1-60.", what=f"camera={camera_id}")
        return
    await send({"type": "websocket.accept"})

    hub = hub_get()
    send_frame, send_text = _senders(send)
    # Pinned from the session read that sizes the slot to the join (Hub.feed_pinned).
    async with hub.feed_pinned(camera_id) as feed:
        native = feed.spec.native_width() if feed.spec else 0
        width = rendition_width(
            requested=int(requested_width) if requested_width else None,
            native_width=native or 10**6,
            allowed=settings.STREAMING_RENDITION_WIDTHS,
        )
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
                try:
                    frames = _acknowledged(text_of(message))
                except BadMessage as error:
                    await close_for(send, error, what=f"live monitoring camera={camera_id}")
                    return
                await feed.on_acknowledge(slot, frames)
            elif message["type"] == "websocket.disconnect":
                return
    finally:
        hub.leave(camera_id, slot)


# Acknowledging more than this at once is no flow control any client needs.
MAX_ACK_FRAMES = 10_000
_ACK_RULE = 'expected "ack", "ack N" or {"type": "ack", "frames": N} with N from 1 to 10000'


def _acknowledged(text: str) -> int:
    """How many frames a client's message acknowledges; BadMessage for anything else."""
    if text == "ack":
        return 1
    if text.startswith("ack "):
        count = text[4:]
        frames = int(count) if count.isascii() and count.isdigit() else 0
    else:
        message = json_of(text)
        if not isinstance(message, dict) or message.get("type") != "ack":
            raise BadMessage(_ACK_RULE)
        frames = message.get("frames", 1)
    # bool is an int in Python; 1e999 is a float (inf): neither counts frames.
    if type(frames) is not int or not 1 <= frames <= MAX_ACK_FRAMES:
        raise BadMessage(_ACK_RULE)
    return frames


# -- the camera wall: one socket, many cameras ------------------------------------------------

_WALL_RULE = (
    'expected {"type": "watch", "cameras": [...], "full": null or a camera}, '
    '"ack CAMERA N" or {"type": "ack", "camera": CAMERA, "frames": N}'
)


@dataclass(frozen=True)
class WallAck:
    camera_id: str
    frames: int


@dataclass(frozen=True)
class WallWatch:
    cameras: list[str]
    full: str | None


def _wall_message(text: str, *, max_tiles: int) -> WallAck | WallWatch:
    """A wall client's message, or BadMessage."""
    if text.startswith("ack "):
        parts = text.split(" ")
        if len(parts) not in (2, 3):
            raise BadMessage(_WALL_RULE)
        count = parts[2] if len(parts) == 3 else "1"
        frames: object = int(count) if count.isascii() and count.isdigit() else 0
        camera: object = parts[1]
    else:
        message = json_of(text)
        if not isinstance(message, dict):
            raise BadMessage(_WALL_RULE)
        if message.get("type") == "watch":
            cameras, full = message.get("cameras"), message.get("full")
            if not isinstance(cameras, list) or not all(
                isinstance(c, str) and camera_id_valid(c) for c in cameras
            ):
                raise BadMessage("cameras must be a list of camera ids")
            if len(cameras) > max_tiles:
                raise BadMessage(f"a wall carries at most {max_tiles} cameras")
            if full is not None and (not isinstance(full, str) or full not in cameras):
                raise BadMessage("full must be null or one of the cameras")
            return WallWatch(list(dict.fromkeys(cameras)), full)
        if message.get("type") != "ack":
            raise BadMessage(_WALL_RULE)
        camera, frames = message.get("camera"), message.get("frames", 1)
    if not isinstance(camera, str) or not camera_id_valid(camera):
        raise BadMessage(_WALL_RULE)
    if type(frames) is not int or not 1 <= frames <= MAX_ACK_FRAMES:
        raise BadMessage(_WALL_RULE)
    return WallAck(camera, frames)


async def live_wall_socket(scope: Scope, receive: Receive, send: Send) -> None:
    """A camera wall's socket: every tile of one browser, frames tagged by camera.

    The client says which cameras to show (``watch``; ``full`` names the one shown at full
    size and rate, the others get the wall rendition, ``?width=&fps=``, 640 at 15 by
    default) and acknowledges per camera. Each tile is a viewer of its camera's feed with
    its own window (``WallTileSlot``); a frame of camera ``c`` is a binary message
    ``\\x01, len(c), c, JPEG``, status messages are the live-monitoring socket's, one per
    camera (their ``camera_id`` says which).
    """
    if (await receive())["type"] != "websocket.connect":
        return
    user = scope.get("user")
    if user is None or not await database_sync_to_async(user_has_role)(user, Role.VIEWER):
        logger.info("Wall socket refused: no viewer role")
        await send({"type": "websocket.close", "code": _CLOSE_FORBIDDEN})
        return
    params = parse_qs(scope.get("query_string", b"").decode())
    try:
        tile_width = int(_number(params, "width", 16, 7680) or settings.STREAMING_WALL_WIDTH)
        tile_fps = _number(params, "fps", 1, 60) or settings.STREAMING_WALL_FPS
    except ValueError:
        await _refuse(send, "width must be 16-7680 and fps 1-60.", what="wall")
        return
    await send({"type": "websocket.accept"})
    hub = hub_get()
    send_frame, send_text = _senders(send)

    tiles: dict[str, tuple[CameraFeed, WallTileSlot, bool]] = {}

    async def watch(cameras: list[str], full: str | None) -> None:
        # A tile that changes size (opened full, or back) keeps its camera's feed across the
        # swap: left first, the feed lost its last viewer, closed, and was made again for the
        # same camera (a session read and, scaled, a new Redis subscription).
        async with contextlib.AsyncExitStack() as kept:
            for camera_id, (_feed, slot, was_full) in list(tiles.items()):
                if camera_id not in cameras or was_full != (camera_id == full):
                    if camera_id in cameras:
                        await kept.enter_async_context(hub.feed_pinned(camera_id))
                    hub.leave(camera_id, slot)
                    del tiles[camera_id]
            for camera_id in cameras:
                if camera_id in tiles:
                    continue
                # Pinned from the session read that sizes the tile to its join: the tile's tag and
                # acknowledgements go to the feed the hub delivers to (Hub.feed_pinned).
                async with hub.feed_pinned(camera_id) as feed:
                    is_full = camera_id == full
                    native = feed.spec.native_width() if feed.spec else 0
                    slot = WallTileSlot(
                        tag=feed.tagged,
                        width=0
                        if is_full
                        else rendition_width(
                            requested=tile_width,
                            native_width=native or 10**6,
                            allowed=settings.STREAMING_RENDITION_WIDTHS,
                        ),
                        max_fps=0.0 if is_full else tile_fps,
                        send=send_frame,
                        send_text=send_text,
                        window=settings.STREAMING_ACK_WINDOW,
                    )
                    tiles[camera_id] = (await hub.join(camera_id, slot), slot, is_full)
        await send_text(json.dumps({"type": "watching", "cameras": cameras, "full": full}))

    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message["type"] != "websocket.receive":
                continue
            try:
                parsed = _wall_message(
                    text_of(message), max_tiles=settings.STREAMING_WALL_MAX_TILES
                )
            except BadMessage as error:
                await close_for(send, error, what="camera wall")
                return
            if isinstance(parsed, WallWatch):
                await watch(parsed.cameras, parsed.full)
                continue
            tile = tiles.get(parsed.camera_id)
            if tile is not None:  # an ack for a tile just removed: nothing to do
                await tile[0].on_acknowledge(tile[1], parsed.frames)
    finally:
        for camera_id, (_feed, slot, _full) in tiles.items():
            hub.leave(camera_id, slot)
