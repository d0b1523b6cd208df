"""Frame producers: one thread per active camera, decoding with OpenCV and encoding once.

A producer runs whether or not anybody watches. Its playback clock is the session's
(``ProducerSpec.position_at``): while nobody watches it only samples a few frames a second
for the picture alarms (``streaming.alarms``; decoded, never encoded) or, with alarms off,
sleeps; when demand comes back it seeks to where the clock is, so a viewer who leaves and
returns joins the same position. Each demanded rendition (a width, at a frame rate) is
encoded once per frame it is due, whatever the number of viewers, and handed to a
``FrameSink``: the in-process hub (embedded mode) or Redis pub/sub (``stream_worker``, scaled
mode). Source frames that no rendition and no alarm sample needs (a 15 frames/s wall tile of a
30 frames/s camera) are decoded with ``grab()`` only: never converted to a picture, never
encoded. A producer the CPU cannot keep on the clock shows what it decodes and jumps forward at
keyframes (``_CATCH_UP_BUDGET_S``) rather than decoding a backlog it would never show.
"""

import bisect
import functools
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from streaming.alarms import AlarmChange, AlarmReporter, AlarmThresholds, LostWatch, PictureWatch
from streaming.frames import Frame, frame_pack
from streaming.media import frame_encode
from streaming.types import Demand, FrameSink, ProducerSpec

logger = logging.getLogger(__name__)

# Falling further behind the clock than this is cheaper to fix by seeking than by decoding
# forward. A seek is no shortcut for short gaps: it lands on the keyframe before the target
# and decodes from there, up to a whole GOP (a 250-frame x264 GOP at 720p: 0.4-0.8 s, against
# ~2 ms a frame for grab()). With a 1 s threshold a seek that took over a second under load
# fell behind by more than it caught up, and the producer sought again and again (0 frames/s).
_SEEK_AFTER_S = 10.0
# A producer behind the clock decodes its backlog in one go (grab() only) when that takes less
# than this at its recent decoding speed: a short hiccup is caught up at once. A longer backlog
# (a CPU too busy to decode every source frame in time) is not decoded before a frame is shown:
# that showed nothing while it lasted, the clock ran on meanwhile, and the next backlog was
# longer still (16 cameras on 2 busy cores: some tiles at 0.4 frames/s while others kept 15).
# The producer takes the next frame only instead ("slips": each producer shows what its share
# of the CPU decodes, so all tiles degrade alike) and jumps forward at a keyframe to catch up.
_CATCH_UP_BUDGET_S = 0.1
# OpenCV's seek to frame N goes to the keyframe before N - 16 and decodes forward from there
# (cap_ffmpeg_impl.hpp, seek()): a seek to keyframe K + 16 decodes 17 frames (45 ms at 720p),
# one to K itself a whole GOP from the keyframe before (650 ms for x264's 250-frame GOP).
_SEEK_LEAD_FRAMES = 16
# The keyframes are read from the container's packets (no decoding: ~6 us a packet), at most
# this many packets (an hour and a half at 30 frames/s); past that a late producer only slips.
_KEYFRAME_SCAN_MAX = 160_000
# How often an idle producer (no demand, no alarms) looks for demand, at most.
_IDLE_WAIT_S = 0.25

# A producer that died is started again at most this often by the monitor.
_RESTART_EVERY_S = 2.0

# How much nicer than the rest of its process a producer's thread runs (Linux: the nice value
# is per thread, and FFmpeg's threads inherit it). At equal priority the kernel shares the
# cores per thread: 16 producers short of CPU left the web process's event loop and its
# database thread 1/17 of the machine each, the wall's sockets took 15 s to join their tiles
# and every tile of 20 browsers showed 0 frames/s (benchmarks/results/streaming_wall.md). At
# nice 10 (a tenth of the weight) the fan-out, the joins and the requests run first and the
# producers share what is left, each alike: 16 tiles of 20 browsers at 5.5-7 frames/s each.
# They also yield to every other process at normal priority on the machine.
PRODUCER_NICE = 10

AlarmReport = Callable[[list[AlarmChange]], None]


def keyframes_scan(path: str, *, limit: int = _KEYFRAME_SCAN_MAX) -> list[int]:
    """The indices of the file's keyframes, read from its packets without decoding them.

    Empty when OpenCV cannot read the file's packets raw (its FFmpeg backend can since 4.5).
    Kept per file (its size and time): a restarted producer of a long upload reads it once.
    """
    try:
        stat = os.stat(path)
        return list(_keyframes_scan(path, stat.st_size, stat.st_mtime_ns, limit))
    except OSError:
        return []


@functools.lru_cache(maxsize=256)
def _keyframes_scan(path: str, size: int, mtime_ns: int, limit: int) -> tuple[int, ...]:
    raw = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    keys: list[int] = []
    try:
        if not raw.isOpened():
            raise OSError(f"cannot open {path}")  # not kept: the file may come back
        if not raw.set(cv2.CAP_PROP_FORMAT, -1):
            return ()
        index = 0
        while index < limit and raw.grab():
            if raw.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
                keys.append(index)
            index += 1
    finally:
        raw.release()
    return tuple(keys)


def _priority_lower(camera_id: str) -> int | None:
    """Run the calling thread PRODUCER_NICE nicer than it runs now (Linux only: elsewhere the
    nice value is the whole process's, and a thread id is no process id). Returns the thread's
    nice value (None where it is not the thread's), for the producer's start line: a wall
    that collapsed once more at 16 cameras looked like producers at normal priority."""
    if not sys.platform.startswith("linux") or PRODUCER_NICE <= 0:
        return None
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + PRODUCER_NICE)
    except OSError as exc:  # a sandbox that forbids it: the producer runs, unprotected
        logger.warning("Producer priority not lowered camera=%s: %s", camera_id, exc)
    return os.getpriority(os.PRIO_PROCESS, tid)


class Producer(threading.Thread):
    """Decodes one session's file on the session's clock and encodes what is demanded."""

    def __init__(
        self,
        spec: ProducerSpec,
        sink: FrameSink,
        *,
        max_output_fps: float,
        thresholds: AlarmThresholds | None = None,
        report: AlarmReport | None = None,
        frame_times: dict[str, float] | None = None,
    ):
        super().__init__(name=f"producer-{spec.camera_id}", daemon=True)
        self.spec = spec
        self.sink = sink
        self.max_output_fps = max_output_fps
        self.frames_encoded = 0
        self.frames_grabbed = 0  # decoded and never converted (skipped by every rendition)
        self.frames_retrieved = 0
        self.frames_slipped = 0  # taken late, the backlog before them left undecoded
        self.jumps = 0  # forward seeks to a keyframe to catch the clock up
        self.keyframes: list[int] = []
        self._jump_s = 0.0  # how long the last keyframe seek took (a jump must save more)
        self._decode_s = 0.0  # recent wall time of one decode (moving average)
        self._behind = False  # late at the last frame: no backlog is decoded in one go now
        self.watch = (
            PictureWatch(
                camera_id=spec.camera_id, session_id=spec.session_id, thresholds=thresholds
            )
            if thresholds is not None and thresholds.sample_fps > 0
            else None
        )
        self._report = report
        # camera -> when its newest frame was decoded; shared with the manager's lost-feed
        # judgement, which must outlive a producer that dies.
        self.frame_times = frame_times if frame_times is not None else {}
        self._due: dict[int, float] = {}  # rendition width -> the source frame it is next due at
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
        nice = _priority_lower(spec.camera_id)
        logger.info(
            "Producer started camera=%s session=%s upload=%s nice=%s",
            spec.camera_id,
            spec.session_id,
            spec.upload_id,
            nice,
        )
        # One decoding thread per camera: FFmpeg's default (a thread per core, frame threading)
        # cost 2.5 ms of CPU per 720p H.264 frame against 2.3 with one, and sixteen cameras
        # each with a pool of their own only fight over the same cores (streaming_wall).
        cap = self._open(spec.path)
        try:
            if not cap.isOpened():
                logger.error(
                    "Producer cannot open the upload camera=%s session=%s upload=%s",
                    spec.camera_id,
                    spec.session_id,
                    spec.upload_id,
                )
                return
            self.keyframes = keyframes_scan(spec.path)
            self._loop(cap)
        except Exception:
            logger.exception(
                "Producer failed camera=%s session=%s", spec.camera_id, spec.session_id
            )
        finally:
            cap.release()
            logger.info("Producer stopped camera=%s session=%s", spec.camera_id, spec.session_id)

    def _open(self, path: str) -> cv2.VideoCapture:
        return cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])

    def _seek_to_keyframe(self, cap: cv2.VideoCapture, index: int) -> None:
        """Seek to ``index``, 16 frames past a keyframe: 17 decodes (see _SEEK_LEAD_FRAMES)."""
        started = time.monotonic()
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._jump_s = time.monotonic() - started
        if not self._decode_s:  # the first estimate of this machine's decoding speed
            self._decode_s = self._jump_s / (_SEEK_LEAD_FRAMES + 1)

    def _seek_near(self, cap: cv2.VideoCapture, target: int) -> int:
        """Seek to ``target`` or, when that is past a keyframe's 16th frame, to that frame:
        never more than 17 decodes, where a seek onto ``target`` itself decodes everything
        from the keyframe before it (up to a GOP: 250 frames, 0.6 s of CPU at 720p, and many
        times that in wall time with the cores shared by 16 producers). Returns the frame the
        capture is at; the producer catches up from there (a backlog or a slip)."""
        i = bisect.bisect_right(self.keyframes, target - _SEEK_LEAD_FRAMES) - 1
        if i >= 0 and target - self.keyframes[i] > _SEEK_LEAD_FRAMES:
            index = self.keyframes[i] + _SEEK_LEAD_FRAMES
            self._seek_to_keyframe(cap, index)
            return index
        cap.set(cv2.CAP_PROP_POS_FRAMES, target)
        return target

    def _jump_target(self, decoded: int, target: int) -> int | None:
        """Where a late producer jumps to: 16 frames past the newest keyframe that lies
        ahead of ``decoded`` with that point not past ``target`` (None: no such keyframe)."""
        i = bisect.bisect_right(self.keyframes, target - _SEEK_LEAD_FRAMES) - 1
        # Worth it when it skips at least twice the 17 frames the seek decodes.
        if i >= 0 and self.keyframes[i] + _SEEK_LEAD_FRAMES - decoded > 2 * (_SEEK_LEAD_FRAMES + 1):
            return self.keyframes[i] + _SEEK_LEAD_FRAMES
        return None

    # -- rates ----------------------------------------------------------------------------------
    def _stride(self, spec: ProducerSpec, fps: float) -> float:
        """Source frames per output frame of a rendition wanted at ``fps`` (0: full rate)."""
        rate = spec.fps * spec.speed
        out = min(fps or rate, rate, self.max_output_fps)
        return max(1.0, rate / out)

    def _wake_stride(self, spec: ProducerSpec, demand: Demand) -> float:
        """Source frames between two wake-ups: the fastest rendition's, or the alarm sample's."""
        if demand:
            return math.floor(min(self._stride(spec, fps) for fps in demand.values()) + 1e-9)
        assert self.watch is not None
        return self._stride(spec, self.watch.thresholds.sample_fps)

    def _due_now(self, width: int, stride: float, index: int) -> bool:
        """Whether frame ``index`` is due for the rendition, and if so, when the next one is."""
        due = self._due.get(width)
        if due is not None and due - stride <= index < due - 0.5:
            return False
        if due is None or abs(index - due) >= stride:
            self._due[width] = index + stride  # first frame, a seek or a loop: start over here
        else:
            self._due[width] = due + stride
        return True

    # -- the loop -------------------------------------------------------------------------------
    def _loop(self, cap: cv2.VideoCapture) -> None:
        decoded = -1  # index of the newest decoded frame
        image: np.ndarray | None = None  # its picture, when it was converted
        encoded_widths: set[int] = set()  # renditions already sent for ``image``
        seq = 0
        camera_id = self.spec.camera_id
        self.frame_times.setdefault(camera_id, time.time())
        while not self._halt.is_set():
            spec = self.spec
            demand = self.sink.demand(spec.camera_id)
            now = time.time()
            position, ended = spec.position_at(now)
            if ended:
                self.frame_times[camera_id] = now  # nothing to decode is no lost feed
            if not demand and (self.watch is None or ended):
                # Nobody watches: the clock runs on (it is arithmetic) but nothing is decoded.
                decoded, image = -1, None
                self._wake.wait(_IDLE_WAIT_S)
                self._wake.clear()
                continue
            target = min(int(position * spec.fps), spec.frame_count - 1)
            if decoded < 0 or target != decoded:
                fresh = decoded < 0 or image is None
                late = target - decoded
                rate = spec.fps * spec.speed
                if decoded < 0 or target < decoded:
                    decoded = self._seek_near(cap, target) - 1
                    late = target - decoded
                if late <= 2 * self._wake_stride(spec, demand):
                    self._behind = False  # on time
                elif not self._behind and (late - 1) * self._decode_s <= _CATCH_UP_BUDGET_S:
                    self._behind = True  # a hiccup: one backlog decoded in one go, not two
                else:
                    # Behind real time: no backlog decoded in one go (_CATCH_UP_BUDGET_S), and
                    # none after a first one that did not catch up: a producer that cannot
                    # keep up took a backlog each frame, as long as its CPU share allowed, and
                    # showed one frame per backlog. A jump only when it saves more than a seek
                    # costs (a slow one is not repeated at once).
                    self._behind = True
                    jump = self._jump_target(decoded, target)
                    if jump is not None and late / rate > 2 * self._jump_s:
                        self._seek_to_keyframe(cap, jump)
                        self.jumps += 1
                        decoded, target = jump - 1, jump
                    elif late > _SEEK_AFTER_S * spec.fps and jump is None:
                        # No keyframe to jump to (a GOP over 10 s): seek as far as it goes.
                        decoded = self._seek_near(cap, target) - 1
                        target = decoded + 1
                    else:
                        target = decoded + 1
                        self.frames_slipped += 1
                while decoded < target - 1 and cap.grab():
                    decoded += 1
                    self.frames_grabbed += 1
                due = [
                    w
                    for w in sorted(demand)
                    if self._due_now(w, self._stride(spec, demand[w]), target)
                ]
                sample = self.watch is not None and self.watch.due(now)
                started = time.monotonic()
                if due or sample or (demand and fresh):
                    ok, frame_image = cap.read()
                    self.frames_retrieved += 1
                else:
                    ok, frame_image = cap.grab(), None
                    self.frames_grabbed += 1
                self._decode_s += 0.2 * (time.monotonic() - started - self._decode_s)
                if not ok:
                    # The container promised more frames than it holds: start over at 0.
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    decoded, image = -1, None
                    self._halt.wait(0.01)
                    continue
                decoded = target
                self.frame_times[camera_id] = time.time()
                if frame_image is not None:
                    image = frame_image
                    encoded_widths = set(demand) - set(due)
                    seq += 1
                    if sample and self.watch is not None and self._report is not None:
                        changes = self.watch.observe(frame_image, time.time())
                        if changes:
                            self._report(changes)
            missing = set(demand) - encoded_widths
            if missing and image is not None:
                for width in sorted(missing):
                    self._publish(spec, image, width=width, seq=seq, index=decoded)
                encoded_widths |= missing
            # Always sleep a little, even when late: the hub's loop and the sockets need the GIL.
            delay = self._delay_to_next_frame(spec, decoded, self._wake_stride(spec, demand))
            self._wake.wait(max(0.002, delay))
            self._wake.clear()

    def _publish(
        self, spec: ProducerSpec, image: np.ndarray, *, width: int, seq: int, index: int
    ) -> None:
        jpeg = frame_encode(image, width=width or spec.native_width(), quality=spec.jpeg_quality)
        # When the frame is ready to go: the latency viewers see from here on is the fan-out's
        # (and a second rendition's does not include the first's encode).
        encoded_at = time.time()
        data = frame_pack(
            jpeg=jpeg,
            seq=seq,
            encoded_at=encoded_at,
            position_s=index / spec.fps,
            session_id=spec.session_id,
        )
        self.sink.publish(
            Frame(
                camera_id=spec.camera_id,
                width=width,
                seq=seq,
                encoded_at=encoded_at,
                position_s=index / spec.fps,
                session_id=spec.session_id,
                data=data,
            )
        )
        self.frames_encoded += 1

    def _delay_to_next_frame(self, spec: ProducerSpec, decoded: int, stride: float = 1.0) -> float:
        """Seconds until the producer should take the frame ``stride`` frames after ``decoded``.

        It wakes in the middle of that frame's time on the playback clock, so a wake-up that
        is late (or early) by up to half a frame still finds it: a timer of its own, drifting
        against the clock, would now and then skip a frame and show another one twice. A
        producer that is already past that point (a slow decode) goes on at once. Past
        ``max_output_fps`` frames are skipped anyway, evenly (a stride of the source rate
        over that maximum).

        Never longer than one and a half strides: a clock behind ``decoded`` has gone back (a
        loop starting over, a restart from an earlier position), and the wait computed from
        it would last until the clock came back round — a whole loop of the video.
        """
        rate = spec.fps * spec.speed
        stride = max(stride, math.floor(rate / self.max_output_fps + 1e-9), 1.0)
        position, _ended = spec.position_at(time.time())
        step = math.floor(stride + 1e-9)
        return min(((decoded + step + 0.5) / spec.fps - position) / spec.speed, 1.5 * stride / rate)


class ProducerManager:
    """The producers of one process, at most one per camera, and their picture alarms.

    With ``alarms`` (a reporter, ``streaming.alarms.AlarmReporter``) each producer judges its
    frames for frozen and black pictures, and a monitor thread judges lost feeds: a camera
    whose producer decoded nothing for ``lost_s`` (stalled, or dead and not restartable:
    its file gone, a decoder crash). ``restart`` is called for a camera whose producer died
    (embedded mode; the stream worker's own pass restarts them there).
    """

    def __init__(
        self,
        sink: FrameSink,
        *,
        max_output_fps: float,
        thresholds: AlarmThresholds | None = None,
        alarms: AlarmReporter | None = None,
        restart: Callable[[str], None] | None = None,
    ):
        self.sink = sink
        self.max_output_fps = max_output_fps
        self.thresholds = thresholds if alarms is not None else None
        self.alarms = alarms
        self.restart = restart
        self._producers: dict[str, Producer] = {}
        self._specs: dict[str, ProducerSpec] = {}  # what should run, dead producers included
        self._watches: dict[str, PictureWatch] = {}
        self.frame_times: dict[str, float] = {}
        self._restarted_at: dict[str, float] = {}
        self.lost = LostWatch(self.thresholds) if self.thresholds is not None else None
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self._stop = threading.Event()

    def configure(
        self, *, thresholds: AlarmThresholds | None, alarms: AlarmReporter | None
    ) -> None:
        """New alarm settings, for the producers started from now on."""
        with self._lock:
            self.alarms = alarms
            self.thresholds = thresholds if alarms is not None else None
            self.lost = LostWatch(self.thresholds) if self.thresholds is not None else None
            self._watches.clear()

    def _report(self, changes: list[AlarmChange]) -> None:
        if changes and self.alarms is not None:
            self.alarms.report(changes)

    def _session_over(self, camera_id: str) -> None:
        """The camera's session stopped or was replaced: its alarms end with it."""
        now = time.time()
        watch = self._watches.pop(camera_id, None)
        if watch is not None:
            self._report(watch.close(now))
        if self.lost is not None:
            self._report(self.lost.forget(camera_id, now))
        self.frame_times.pop(camera_id, None)

    def _new_producer(self, spec: ProducerSpec) -> Producer:
        producer = Producer(
            spec,
            self.sink,
            max_output_fps=self.max_output_fps,
            thresholds=self.thresholds,
            report=self._report,
            frame_times=self.frame_times,
        )
        watch = self._watches.get(spec.camera_id)
        if watch is not None and watch.session_id == spec.session_id:
            producer.watch = watch  # a restart: the alarms it had stay open, not re-announced
        elif producer.watch is not None:
            self._watches[spec.camera_id] = producer.watch
        return producer

    def apply(self, camera_id: str, spec: ProducerSpec | None) -> None:
        """Make the camera's producer match ``spec`` (None: no producer)."""
        with self._lock:
            current = self._producers.get(camera_id)
            known = self._specs.get(camera_id)
            if current is not None and not current.is_alive():
                self._producers.pop(camera_id)
                current = None
            if spec is None:
                self._specs.pop(camera_id, None)
                if current is not None:
                    self._producers.pop(camera_id)
                    current.halt()
                if known is not None:
                    self._session_over(camera_id)
                return
            if known is not None and known.session_id != spec.session_id:
                self._session_over(camera_id)
            self._specs[camera_id] = spec
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
            producer = self._new_producer(spec)
            self._producers[camera_id] = producer
            producer.start()
        self._monitor_ensure()

    # -- lost feeds -----------------------------------------------------------------------------
    def monitor_pass(self, now: float | None = None) -> None:
        """Judge every camera that should have a producer for a lost feed; restart dead ones."""
        if self.lost is None:
            return
        now = time.time() if now is None else now
        with self._lock:
            specs = dict(self._specs)
            dead = [c for c in specs if not (p := self._producers.get(c)) or not p.is_alive()]
        for camera_id, spec in specs.items():
            last = self.frame_times.setdefault(camera_id, now)
            if spec.position_at(now)[1]:
                last = now  # ended, not looping: no frame is due
            self._report(
                self.lost.judge(
                    camera_id=camera_id, session_id=spec.session_id, last_frame_at=last, now=now
                )
            )
        if self.restart is not None:
            for camera_id in dead:
                # At most every few seconds: a file that cannot be opened fails at once.
                if now - self._restarted_at.get(camera_id, 0.0) < _RESTART_EVERY_S:
                    continue
                self._restarted_at[camera_id] = now
                try:
                    self.restart(camera_id)
                except Exception:
                    logger.warning("Producer restart failed camera=%s", camera_id, exc_info=True)

    def _monitor_ensure(self) -> None:
        if self.lost is None or (self._monitor is not None and self._monitor.is_alive()):
            return
        self._stop = stop = threading.Event()  # one per thread: a shutdown ends only its own
        self._monitor = threading.Thread(
            target=self._monitor_run, args=(stop,), name="lost-feeds", daemon=True
        )
        self._monitor.start()

    def _monitor_run(self, stop: threading.Event) -> None:
        interval = min(1.0, self.lost.thresholds.lost_s / 4) if self.lost else 1.0
        while not stop.wait(interval):
            try:
                self.monitor_pass()
            except Exception:
                logger.exception("Lost-feed monitor pass failed")

    def sync(self, specs: list[ProducerSpec]) -> None:
        """Run exactly the producers of ``specs``."""
        wanted = {spec.camera_id: spec for spec in specs}
        for camera_id in set(self.cameras()) - set(wanted):
            self.apply(camera_id, None)
        for camera_id, spec in wanted.items():
            self.apply(camera_id, spec)

    def cameras(self) -> list[str]:
        """Cameras with a producer, or that should have one (a producer that died)."""
        with self._lock:
            return list(dict.fromkeys([*self._producers, *self._specs]))

    def get(self, camera_id: str) -> Producer | None:
        with self._lock:
            return self._producers.get(camera_id)

    def wake(self, camera_id: str) -> None:
        producer = self.get(camera_id)
        if producer is not None:
            producer.wake()

    def shutdown(self) -> None:
        self._stop.set()
        for camera_id in self.cameras():
            self.apply(camera_id, None)
