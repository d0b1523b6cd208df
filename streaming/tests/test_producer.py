"""The producer's cadence: every source frame once, on the session's playback clock."""

import hashlib
import itertools
import os
import threading
import time

import cv2
import pytest

from streaming.media import video_probe
from streaming.producer import Producer
from streaming.types import ProducerSpec


def _spec(path, *, fps=10.0, frame_count=100, speed=1.0, position_s=0.0, loop=True, anchor_at=None):
    return ProducerSpec(
        session_id="00000000-0000-0000-0000-0000000000a1",
        camera_id="cam-1",
        upload_id="u-1",
        path=str(path),
        fps=fps,
        frame_count=frame_count,
        width=320,
        height=240,
        loop=loop,
        speed=speed,
        anchor_at=time.time() if anchor_at is None else anchor_at,
        anchor_position_s=position_s,
        jpeg_quality=85,
        max_width=0,
    )


class RecordingSink:
    def __init__(self, enough_at=15):
        self.enough_at = enough_at
        self.frames = []
        self.published_at = []
        self.enough = threading.Event()

    def demand(self, camera_id):
        return {0: 0.0}  # the native size at the source's rate

    def publish(self, frame):
        self.frames.append(frame)
        self.published_at.append(time.time())
        if len(self.frames) >= self.enough_at:
            self.enough.set()


@pytest.mark.parametrize(
    ("fps", "speed", "position_s", "decoded", "expected_s"),
    [
        (10.0, 1.0, 1.02, 10, 0.13),  # just into frame 10: wake in the middle of frame 11
        (10.0, 1.0, 1.09, 10, 0.06),  # late in frame 10: still the middle of frame 11
        (10.0, 2.0, 1.02, 10, 0.065),  # twice as fast: half the wall time
        (10.0, 1.0, 1.17, 10, -0.02),  # a slow decode: past the middle of 11, go on at once
        # 120 frames/s asked, 30 at most: every fourth frame, the middle of frame 34.
        (30.0, 4.0, 1.0, 30, 0.0375),
        (10.0, 1.0, 0.01, 99, 0.15),  # the loop started over: no wait for the clock to come round
        (10.0, 2.0, 0.5, 80, 0.075),  # restarted earlier, at twice the speed
    ],
)
def test_the_producer_wakes_in_the_middle_of_the_next_frame(
    tmp_path, monkeypatch, fps, speed, position_s, decoded, expected_s
):
    # The clock stands still at the anchor: on a loaded machine the milliseconds between
    # making the spec and asking for the delay came off the answer (0.0609 for 0.065).
    now = 1_800_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    producer = Producer(_spec(tmp_path / "x.mp4"), RecordingSink(), max_output_fps=30.0)
    spec = _spec(tmp_path / "x.mp4", fps=fps, speed=speed, position_s=position_s, anchor_at=now)
    assert producer._delay_to_next_frame(spec, decoded) == pytest.approx(expected_s, abs=1e-9)


def _run_until_enough(spec, sink, fps) -> list[int]:
    """Run a producer until the sink has its frames; the source frame index of each one."""
    producer = Producer(spec, sink, max_output_fps=30.0)
    producer.start()
    try:
        assert sink.enough.wait(5), f"only {len(sink.frames)} frames in 5 s"
    finally:
        producer.halt()
    return [round(frame.position_s * fps) for frame in sink.frames]


def test_a_watched_producer_publishes_every_source_frame_once(make_clip):
    path = make_clip("ten.mp4", frames=100, fps=10.0)
    info = video_probe(path)
    sink = RecordingSink()
    spec = _spec(path, fps=info.fps, frame_count=info.frame_count)
    indices = _run_until_enough(spec, sink, info.fps)
    assert indices == list(range(indices[0], indices[0] + len(indices)))
    # Paced by the clock (the first frame comes at once, the others mid-frame): 14 frames of
    # a 10 fps source take 1.3 s from the second one on, not less, and a last wake-up late by
    # less than half a frame (the slack the producer is built for) still finds its frame.
    span = sink.frames[-1].encoded_at - sink.frames[1].encoded_at
    expected = (len(indices) - 2) / info.fps
    assert expected - 0.04 <= span <= expected + 0.5 / info.fps


class SlowLastFrameSink(RecordingSink):
    """Takes 0.15 s to publish the file's last frame: the loop starts over meanwhile, as it
    does whenever the wrap falls within the last frame's decode and encode."""

    def __init__(self, last_index, fps):
        super().__init__()
        self.last_index, self.fps = last_index, fps

    def publish(self, frame):
        super().publish(frame)
        if round(frame.position_s * self.fps) == self.last_index:
            time.sleep(0.15)


def test_a_looping_producer_goes_on_past_the_end_of_the_file(make_clip):
    """Frames keep coming across the loop point, from the start of the file again."""
    path = make_clip("loop.mp4", frames=20, fps=10.0)
    info = video_probe(path)
    sink = SlowLastFrameSink(info.frame_count - 1, info.fps)
    # 0.4 s before the end of the 2 s clip: the wrap comes within the first second.
    spec = _spec(path, fps=info.fps, frame_count=info.frame_count, position_s=1.6)
    indices = _run_until_enough(spec, sink, info.fps)
    wrap = indices.index(min(indices))
    assert indices[:wrap] == list(range(16, 20)), indices
    # From the start again, on the clock: the frames of the slow publish's 0.15 s are skipped.
    first = indices[wrap]
    assert first <= 3 and indices[wrap : wrap + 5] == list(range(first, first + 5)), indices
    # No pause at the loop point: after the slow publish, the next frame came at once (it
    # waited for the clock to come round the whole 2 s file before).
    gap = sink.published_at[wrap] - sink.published_at[wrap - 1]
    assert gap < 0.45, f"{gap:.2f} s between the last frame and the first"


class SlowSeekCapture:
    """A real capture whose seeks take 1.5 s, as a long GOP's do on a loaded machine."""

    def __init__(self, capture, seeks):
        self._capture = capture
        self._seeks = seeks

    def set(self, prop, value):
        if prop == cv2.CAP_PROP_POS_FRAMES:
            self._seeks.append(value)
            time.sleep(1.5)
        return self._capture.set(prop, value)

    def __getattr__(self, name):
        return getattr(self._capture, name)


def test_a_slow_seek_is_caught_up_by_decoding_not_by_seeking_again(make_clip, monkeypatch):
    path = make_clip("long.mp4", frames=300, fps=30.0)
    seeks: list[int] = []
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(
        "streaming.producer.cv2.VideoCapture",
        lambda *args: SlowSeekCapture(real_capture(*args), seeks),
    )
    sink = RecordingSink(enough_at=60)
    spec = _spec(path, fps=30.0, frame_count=300, position_s=2.0)
    producer = Producer(spec, sink, max_output_fps=30.0)
    producer.start()
    try:
        assert sink.enough.wait(5), f"only {len(sink.frames)} frames after {len(seeks)} seeks"
    finally:
        producer.halt()
    # One seek to where the clock was; the 1.5 s it took are decoded through, not sought
    # (frame by frame: a seek that slow says decoding is slow too, so no backlog in one go).
    assert len(seeks) == 1
    clock_s = sink.published_at[-1] - spec.anchor_at + 2.0
    lag_s = clock_s - sink.frames[-1].position_s
    assert abs(lag_s) < 0.2, f"the producer is {lag_s:.2f} s off the playback clock"


class SlowDecodeCapture:
    """A real capture whose every decode takes ``decode_s``: a CPU too busy for the source."""

    def __init__(self, capture, decode_s):
        self._capture = capture
        self._decode_s = decode_s

    def grab(self):
        time.sleep(self._decode_s)
        return self._capture.grab()

    def read(self):
        time.sleep(self._decode_s)
        return self._capture.read()

    def __getattr__(self, name):
        return getattr(self._capture, name)


class StarvedProducer(Producer):
    def _open(self, path):
        return SlowDecodeCapture(super()._open(path), decode_s=0.05)


def test_a_producer_that_cannot_decode_in_time_slips_and_jumps_instead_of_decoding_backlogs(
    make_clip,
):
    """20 decodes a second for a 30 frames/s source watched at full rate: the producer shows
    what it decodes at an even pace and jumps forward at keyframes to stay near the clock.
    Decoding each backlog before showing a frame (the old way) made each backlog half as long
    again as the one before: 10 frames in these 4 s, then fewer and fewer, until the backlog
    passed 10 s and a seek."""
    path = make_clip("busy.mp4", frames=600, fps=30.0)  # mp4v: a keyframe every 12 frames
    sink = RecordingSink()
    spec = _spec(path, fps=30.0, frame_count=600)
    producer = StarvedProducer(spec, sink, max_output_fps=30.0)
    producer.start()
    time.sleep(4.0)
    producer.halt()
    assert len(producer.keyframes) > 10, producer.keyframes
    published = sink.published_at
    gaps = [b - a for a, b in itertools.pairwise(published)]
    assert len(published) >= 40, f"{len(published)} frames in 4 s"
    assert max(gaps) < 1.2, f"{max(gaps):.2f} s without a frame"  # a jump: 17 decodes
    assert producer.jumps >= 1 and producer.frames_slipped >= 1
    # Near the clock all along: never much more than a jump's worth behind.
    for frame, at in zip(sink.frames, published, strict=True):
        lag_s = spec.position_at(at)[0] - frame.position_s
        assert lag_s < 2.0, f"{lag_s:.2f} s behind the playback clock"


class CpuHogSink(RecordingSink):
    """Stands for decoding and encoding that take more CPU than there is: the first publish
    moves the producer's thread onto ``cpu`` and hashes there (native code, without the GIL)
    until told to stop, noting how much CPU its thread has used."""

    def __init__(self, cpu):
        super().__init__(enough_at=1)
        self.cpu = cpu
        self.stop = threading.Event()
        self.thread_cpu_s = 0.0

    def publish(self, frame):
        super().publish(frame)
        os.sched_setaffinity(0, {self.cpu})  # 0: the calling thread (Linux)
        block = bytes(4 * 1024 * 1024)
        while not self.stop.is_set():
            hashlib.sha256(block).digest()
            self.thread_cpu_s = time.thread_time()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux: per-thread affinity")
def test_producers_short_of_cpu_leave_the_rest_of_the_process_its_share(make_clip, monkeypatch):
    """Busy producers and the thread that stands for the web process's event loop on one
    core: that thread still gets most of it. At the producers' priority the kernel gave every
    thread the same share: 16 wall producers left daphne's event loop and its database thread
    1/17 of the machine each, the wall's sockets took 15 s to join their tiles and 20 browsers
    saw 0 frames/s on every tile (issue 18). Compared with the producers' own CPU over the
    same second and a half, so other work on that core moves both alike: about 1 at equal
    priority, about 8 with the producers at nice 10 (a tenth of the weight)."""
    monkeypatch.setattr("streaming.producer.PRODUCER_NICE", 10)  # the production value
    path = make_clip("hog.mp4", frames=30, fps=10.0)
    affinity = os.sched_getaffinity(0)
    cpu = min(affinity)
    producers = [Producer(_spec(path), CpuHogSink(cpu), max_output_fps=30.0) for _ in range(3)]
    for producer in producers:
        producer.start()
    try:
        os.sched_setaffinity(0, {cpu})
        for producer in producers:
            assert producer.sink.enough.wait(5), "a producer published nothing in 5 s"
        time.sleep(0.3)  # every hog busy
        hog_cpu = [p.sink.thread_cpu_s for p in producers]
        loop_cpu, deadline = time.thread_time(), time.monotonic() + 1.5
        while time.monotonic() < deadline:
            sum(range(1000))  # pure Python, the GIL held: like the event loop's own work
        loop_cpu = time.thread_time() - loop_cpu
        hog_cpu = [p.sink.thread_cpu_s - c for p, c in zip(producers, hog_cpu, strict=True)]
    finally:
        os.sched_setaffinity(0, affinity)
        for producer in producers:
            producer.sink.stop.set()
        for producer in producers:
            producer.halt()
    hog_mean = sum(hog_cpu) / len(hog_cpu)
    assert loop_cpu > 3.0 * hog_mean, (
        f"this thread got {loop_cpu:.2f} s of CPU in 1.5 s, each of 3 busy producers on its "
        f"core {hog_mean:.2f} s: they run at its priority"
    )
