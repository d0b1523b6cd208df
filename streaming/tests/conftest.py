"""Fixtures of the live-monitoring tests: generated clips, embedded mode, clean producers."""

import cv2
import numpy as np
import pytest

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


@pytest.fixture
def make_clip(tmp_path):
    def make(name="clip.mp4", **kwargs):
        return clip_write(tmp_path / name, **kwargs)

    return make


@pytest.fixture(autouse=True)
def _streaming_settings(settings, tmp_path):
    settings.STREAMING_DIR = tmp_path / "streaming-data"
    # Embedded mode unless a test asks for Redis (CI's scaled run sets REDIS_URL).
    settings.STREAMING_REDIS_URL = ""
    settings.STREAMING_STATUS_INTERVAL_S = 0.2
    yield
    manager = runtime._manager
    if manager is not None:
        manager.shutdown()


def files_under(path):
    return sorted(p.name for p in path.rglob("*") if p.is_file()) if path.exists() else []
