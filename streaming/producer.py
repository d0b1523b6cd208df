"""Frame producers: one thread per active camera, decoding with OpenCV and encoding once.

A producer runs whether or not anybody watches. Its playback clock is the session's
(``ProducerSpec.position_at``): while nobody watches it only sleeps, and when demand comes
back it seeks to where the clock is, so a viewer who leaves and returns joins the same
position. Each demanded rendition (a width) is encoded once per frame, whatever the number
of viewers, and handed to a ``FrameSink``: the in-process hub (embedded mode) or Redis
pub/sub (``stream_worker``, scaled mode).
"""

import logging
import threading
import time

import cv2

from streaming.frames import Frame, frame_pack
from streaming.media import frame_encode
from streaming.types import FrameSink, ProducerSpec

logger = logging.getLogger(__name__)

# Falling further behind the clock than this is cheaper to fix by seeking than by decoding
# forward. A seek is no shortcut for short gaps: it lands on the keyframe before the target
# and decodes from there, up to a whole GOP (a 250-frame x264 GOP at 720p: 0.4-0.8 s, against
# ~2 ms a frame for grab()). With a 1 s threshold a seek that took over a second under load
# fell behind by more than it caught up, and the producer sought again and again (0 frames/s).
_SEEK_AFTER_S = 10.0
# How often an idle producer (no demand) looks for demand, at most.
_IDLE_WAIT_S = 0.25


class Producer(threading.Thread):
    """Decodes one session's file on the session's clock and encodes what is demanded."""

    def __init__(self, spec: ProducerSpec, sink: FrameSink, *, max_output_fps: float):
        super().__init__(name=f"producer-{spec.camera_id}", daemon=True)
        self.spec = spec
        self.sink = sink
        self.max_output_fps = max_output_fps
        self.frames_encoded = 0
        self._halt = threading.Event()
        self._wake = threading.Event()

    def update(self, spec: ProducerSpec) -> None:
        """Take new loop/speed/clock values for the same file (no reopen, no restart)."""
        self.spec = spec
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def halt(self, timeout: float = 5.0) -> None:
        """Stop and wait until the file is closed, so that nothing still reads it."""
        self._halt.set()
        self._wake.set()
        if threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        spec = self.spec
        logger.info(
            "Producer started camera=%s session=%s upload=%s",
            spec.camera_id,
            spec.session_id,
            spec.upload_id,
        )
        cap = cv2.VideoCapture(spec.path, cv2.CAP_FFMPEG)
        try:
            if not cap.isOpened():
                logger.error(
                    "Producer cannot open the upload camera=%s session=%s upload=%s",
                    spec.camera_id,
                    spec.session_id,
                    spec.upload_id,
                )
                return
            self._loop(cap)
        except Exception:
            logger.exception(
                "Producer failed camera=%s session=%s", spec.camera_id, spec.session_id
            )
        finally:
            cap.release()
            logger.info("Producer stopped camera=%s session=%s", spec.camera_id, spec.session_id)

    def _loop(self, cap: cv2.VideoCapture) -> None:
        decoded = -1  # index of the frame held in ``image``
        image = None
        encoded_widths: set[int] = set()  # renditions already sent for ``image``
        seq = 0
        while not self._halt.is_set():
            spec = self.spec
            widths = self.sink.demand(spec.camera_id)
            if not widths:
                # Nobody watches: the clock runs on (it is arithmetic) but nothing is decoded.
                image = None
                self._wake.wait(_IDLE_WAIT_S)
                self._wake.clear()
                continue
            position, _ended = spec.position_at(time.time())
            target = min(int(position * spec.fps), spec.frame_count - 1)
            if image is None or target != decoded:
                if image is None or target < decoded or target - decoded > _SEEK_AFTER_S * spec.fps:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, target)
                    decoded = target - 1
                while decoded < target - 1 and cap.grab():
                    decoded += 1
                ok, frame_image = cap.read()
                if not ok:
                    # The container promised more frames than it holds: start over at 0.
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    decoded, image = -1, None
                    self._halt.wait(0.01)
                    continue
                image, decoded = frame_image, target
                encoded_widths = set()
                seq += 1
            missing = widths - encoded_widths
            if missing:
                for width in sorted(missing):
                    jpeg = frame_encode(
                        image, width=width or spec.native_width(), quality=spec.jpeg_quality
                    )
                    # When the frame is ready to go: the latency viewers see from here on
                    # is the fan-out's (and a second rendition's does not include the first's
                    # encode).
                    encoded_at = time.time()
                    data = frame_pack(
                        jpeg=jpeg,
                        seq=seq,
                        encoded_at=encoded_at,
                        position_s=decoded / spec.fps,
                        session_id=spec.session_id,
                    )
                    self.sink.publish(
                        Frame(
                            camera_id=spec.camera_id,
                            width=width,
                            seq=seq,
                            encoded_at=encoded_at,
                            position_s=decoded / spec.fps,
                            session_id=spec.session_id,
                            data=data,
                        )
                    )
                    self.frames_encoded += 1
                encoded_widths |= missing
            # Always sleep a little, even when late: the hub's loop and the sockets need the GIL.
            self._wake.wait(max(0.002, self._delay_to_next_frame(spec, decoded)))
            self._wake.clear()

    def _delay_to_next_frame(self, spec: ProducerSpec, decoded: int) -> float:
        """Seconds until the producer should take the frame after ``decoded``.

        It wakes in the middle of that frame's time on the playback clock, so a wake-up that
        is late (or early) by up to half a frame still finds it: a timer of its own, drifting
        against the clock, would now and then skip a frame and show another one twice. A
        producer that is already past that point (a slow decode) goes on at once. Past
        ``max_output_fps`` frames are skipped anyway, evenly.

        Never longer than a frame and a half: a clock behind ``decoded`` has gone back (a
        loop starting over, a restart from an earlier position), and the wait computed from
        it would last until the clock came back round — a whole loop of the video.
        """
        rate = spec.fps * spec.speed
        if rate > self.max_output_fps:
            return 1.0 / self.max_output_fps
        position, _ended = spec.position_at(time.time())
        return min(((decoded + 1.5) / spec.fps - position) / spec.speed, 1.5 / rate)


class ProducerManager:
    """The producers of one process, at most one per camera."""

    def __init__(self, sink: FrameSink, *, max_output_fps: float):
        self.sink = sink
        self.max_output_fps = max_output_fps
        self._producers: dict[str, Producer] = {}
        self._lock = threading.Lock()

    def apply(self, camera_id: str, spec: ProducerSpec | None) -> None:
        """Make the camera's producer match ``spec`` (None: no producer)."""
        with self._lock:
            current = self._producers.get(camera_id)
            if current is not None and not current.is_alive():
                self._producers.pop(camera_id)
                current = None
            if spec is None:
                if current is not None:
                    self._producers.pop(camera_id)
                    current.halt()
                return
            if current is not None:
                same_file = (current.spec.session_id, current.spec.path) == (
                    spec.session_id,
                    spec.path,
                )
                if same_file:
                    if current.spec != spec:
                        current.update(spec)
                    return
                # Replace: the old producer stops and closes its file before the new one opens.
                logger.info(
                    "Replacing producer camera=%s old_session=%s new_session=%s",
                    camera_id,
                    current.spec.session_id,
                    spec.session_id,
                )
                current.halt()
            producer = Producer(spec, self.sink, max_output_fps=self.max_output_fps)
            self._producers[camera_id] = producer
            producer.start()

    def sync(self, specs: list[ProducerSpec]) -> None:
        """Run exactly the producers of ``specs``."""
        wanted = {spec.camera_id: spec for spec in specs}
        for camera_id in set(self.cameras()) - set(wanted):
            self.apply(camera_id, None)
        for camera_id, spec in wanted.items():
            self.apply(camera_id, spec)

    def cameras(self) -> list[str]:
        with self._lock:
            return list(self._producers)

    def get(self, camera_id: str) -> Producer | None:
        with self._lock:
            return self._producers.get(camera_id)

    def wake(self, camera_id: str) -> None:
        producer = self.get(camera_id)
        if producer is not None:
            producer.wake()

    def shutdown(self) -> None:
        for camera_id in self.cameras():
            self.apply(camera_id, None)
