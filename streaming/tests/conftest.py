"""Fixtures of the live-monitoring tests: generated clips, embedded mode, clean producers."""

import cv2
import numpy as np
import pytest

from broadcastops.tests.daphne_server import daphne_prepare
from streaming import runtime


def clip_write(path, *, frames=60, fps=30.0, size=(320, 240), fourcc="mp4v"):
    """A small real video whose frames differ visibly (a moving bar and a grey level)."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} into {path.suffix}"
    for index in range(frames):
        image = np.full((height, width, 3), (index * 4) % 256, np.uint8)
        x = int(index * (width - 20) / max(1, frames - 1))
        image[:, x : x + 20] = (0, 0, 255)
        writer.write(image)
    writer.release()
    return path


def clip_pad(path, *, size_bytes: int):
    """Grow an AVI to ``size_bytes`` with a ``JUNK`` chunk, the padding RIFF readers skip.

    A real video of any size in the time it takes to write it, for tests of the transport.
    """
    payload = size_bytes - path.stat().st_size - 8
    assert payload > 0 and path.suffix == ".avi"
    payload -= payload % 2  # RIFF chunks are word-aligned
    with path.open("r+b") as handle:
        assert handle.read(4) == b"RIFF"
        riff_size = int.from_bytes(handle.read(4), "little")
        handle.seek(4)
        handle.write((riff_size + 8 + payload).to_bytes(4, "little"))
        handle.seek(0, 2)
        handle.write(b"JUNK" + payload.to_bytes(4, "little"))
        block = bytes(1 << 20)
        for start in range(0, payload, len(block)):
            handle.write(block[: payload - start])
    return path


@pytest.fixture
def make_clip(tmp_path):
    def make(name="clip.mp4", **kwargs):
        return clip_write(tmp_path / name, **kwargs)

    return make


@pytest.fixture(autouse=True)
def _producers_at_normal_priority(monkeypatch):
    """The producers this process starts keep its priority: the tests time a producer against
    its playback clock while ``make test``'s other pytest process fills the cores, and at nice
    10 a producer got a tenth of a core beside it (0.54 s off the clock). The priority itself
    is proven by test_producer.py's share test, which sets it back."""
    monkeypatch.setattr("streaming.producer.PRODUCER_NICE", 0)


@pytest.fixture(autouse=True)
def _streaming_settings(settings, tmp_path):
    settings.STREAMING_DIR = tmp_path / "streaming-data"
    # Embedded mode unless a test asks for Redis (CI's scaled run sets REDIS_URL).
    settings.STREAMING_REDIS_URL = ""
    settings.STREAMING_STATUS_INTERVAL_S = 0.2
    # Picture alarms write to the database from a thread of their own: on where a test
    # asks for them (test_picture_alarms.py).
    settings.STREAMING_ALARM_SAMPLE_FPS = 0
    yield
    manager = runtime._manager
    if manager is not None:
        manager.shutdown()
        if manager.alarms is not None:  # the alarms the shutdown resolved, written now
            manager.alarms.drain()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real web process (as ``make run`` starts it), shared by a module's tests."""
    server = daphne_prepare(tmp_path_factory.mktemp("web"))
    server.start()
    yield server
    server.stop()


def files_under(path):
    return sorted(p.name for p in path.rglob("*") if p.is_file()) if path.exists() else []
