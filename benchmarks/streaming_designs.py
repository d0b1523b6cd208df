"""The two designs the streaming benchmark compares ours against, served by daphne.

* naive: one shared decode, then one JPEG encode per viewer per frame (the old system's
  MJPEG generator per connection, minus its per-connection decode);
* group_send: one encode per frame, fanned out with Channels' ``group_send``
  (InMemoryChannelLayer), each consumer sending what it receives;
* direct: one encode per frame sent to every viewer at once with no flow control, the
  acknowledgements read and ignored: the floor of what daphne costs (reference/perf-limits.md
  measured this without acknowledgements).

Both use the same acknowledgement protocol as the real consumer, so the client is identical
and only the fan-out differs. Run as ``daphne benchmarks.streaming_designs:application``
with ``BENCH_SOURCE`` naming the video.
"""

import asyncio
import os
import sys
import threading
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadcastops.settings")
django.setup()

import cv2  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from streaming.frames import frame_pack  # noqa: E402
from streaming.media import frame_encode  # noqa: E402

SESSION = "00000000-0000-0000-0000-000000000001"
QUALITY = 85
GROUP = "bench-frames"


class Source(threading.Thread):
    """Decodes the file once, on its own clock, looping; tells listeners about each frame."""

    def __init__(self, path: str):
        super().__init__(daemon=True)
        self.path = path
        self.image = None
        self.seq = 0
        self.listeners: list = []  # (loop, callback)
        self.encode_once = False

    def run(self):
        cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG)
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        next_at = time.monotonic()
        while True:
            ok, image = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            self.image, self.seq = image, self.seq + 1
            data = None
            if self.encode_once:
                data = frame_pack(
                    jpeg=frame_encode(image, width=0, quality=QUALITY),
                    seq=self.seq,
                    encoded_at=time.time(),
                    position_s=0.0,
                    session_id=SESSION,
                )
            for loop, callback in list(self.listeners):
                loop.call_soon_threadsafe(callback, self.seq, data)
            next_at += 1.0 / fps
            time.sleep(max(0.002, next_at - time.monotonic()))


SOURCE = Source(os.environ.get("BENCH_SOURCE", ""))
sys.setswitchinterval(0.0002)  # as in the project's web process (streaming/runtime.py)
_started = threading.Lock()


def _ensure_source(encode_once: bool):
    with _started:
        if not SOURCE.is_alive():
            SOURCE.encode_once = encode_once
            SOURCE.start()


class AckConsumer(AsyncWebsocketConsumer):
    """Acknowledgements skip Channels' per-message database clean-up, as in the real one."""

    async def dispatch(self, message):
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
            return
        await super().dispatch(message)


class NaiveConsumer(AckConsumer):
    """Encodes every frame for this viewer alone, on the event loop, as a generator would."""

    async def connect(self):
        await self.accept()
        _ensure_source(encode_once=False)
        self.new_frame = asyncio.Event()
        self.acked = asyncio.Event()
        self.acked.set()
        entry = (asyncio.get_running_loop(), lambda seq, data: self.new_frame.set())
        self.entry = entry
        SOURCE.listeners.append(entry)
        self.task = asyncio.ensure_future(self.pump())

    async def pump(self):
        while True:
            await self.new_frame.wait()
            self.new_frame.clear()
            await self.acked.wait()
            self.acked.clear()
            jpeg = frame_encode(SOURCE.image, width=0, quality=QUALITY)
            data = frame_pack(
                jpeg=jpeg,
                seq=SOURCE.seq,
                encoded_at=time.time(),
                position_s=0.0,
                session_id=SESSION,
            )
            await self.send(bytes_data=data)
            await asyncio.sleep(0)

    async def receive(self, text_data=None, bytes_data=None):
        self.acked.set()

    async def disconnect(self, code):
        SOURCE.listeners.remove(self.entry)
        self.task.cancel()


_publishers: set = set()


def _group_publish(seq, data):
    layer = get_channel_layer()
    task = asyncio.ensure_future(layer.group_send(GROUP, {"type": "frame.message", "data": data}))
    _publishers.add(task)
    task.add_done_callback(_publishers.discard)


class GroupConsumer(AckConsumer):
    """Receives every frame through the channel layer; sends it when the viewer is ready."""

    async def connect(self):
        await self.accept()
        await self.channel_layer.group_add(GROUP, self.channel_name)
        if not SOURCE.listeners:
            SOURCE.listeners.append((asyncio.get_running_loop(), _group_publish))
        _ensure_source(encode_once=True)
        self.awaiting = False
        self.pending = None

    async def frame_message(self, event):
        if self.awaiting:
            self.pending = event["data"]
            return
        self.awaiting = True
        await self.send(bytes_data=event["data"])

    async def receive(self, text_data=None, bytes_data=None):
        self.awaiting = False
        if self.pending is not None:
            data, self.pending = self.pending, None
            self.awaiting = True
            await self.send(bytes_data=data)

    async def disconnect(self, code):
        await self.channel_layer.group_discard(GROUP, self.channel_name)


_direct_sends: set = set()


def _direct_publish(seq, data):
    async def fan_out():
        for index, send in enumerate(list(_direct_sends)):
            await send({"type": "websocket.send", "bytes": data})
            if index % 32 == 31:
                await asyncio.sleep(0)

    task = asyncio.ensure_future(fan_out())
    _publishers.add(task)
    task.add_done_callback(_publishers.discard)


async def direct_socket(scope, receive, send):
    """The floor: every frame to every viewer at once, acknowledgements read and ignored.

    No flow control at all (a stalled viewer would grow daphne's memory without bound), so
    this is what daphne costs for the sends and the acknowledgements alone.
    """
    await receive()
    await send({"type": "websocket.accept"})
    if not SOURCE.listeners:
        SOURCE.listeners.append((asyncio.get_running_loop(), _direct_publish))
    _ensure_source(encode_once=True)
    _direct_sends.add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        _direct_sends.discard(send)


application = URLRouter(
    [
        path("ws/naive/", NaiveConsumer.as_asgi()),
        path("ws/group/", GroupConsumer.as_asgi()),
        path("ws/direct/", direct_socket),
    ]
)
