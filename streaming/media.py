"""OpenCV: probing an uploaded file, and encoding frames to JPEG."""

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

# Counting frames by decoding is the fallback for containers that do not store a count;
# it is bounded so that a huge file cannot hold the upload request forever.
_COUNT_LIMIT_S = 60.0


class VideoUnreadable(Exception):
    """OpenCV cannot open the file or decode a first frame from it."""


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps


def video_probe(path: Path) -> VideoInfo:
    """Open ``path`` with OpenCV and decode its first frame, or raise ``VideoUnreadable``."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            raise VideoUnreadable("OpenCV cannot open the file")
        ok, image = cap.read()
        if not ok or image is None:
            raise VideoUnreadable("the file holds no frame OpenCV can decode")
        height, width = image.shape[:2]
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not math.isfinite(fps) or fps <= 0 or fps > 1000:
            # Some containers carry no rate; 30 is what cameras in this control room send.
            fps = 30.0
        frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if frame_count <= 0:
            frame_count = 1
            deadline = time.monotonic() + _COUNT_LIMIT_S
            while cap.grab() and time.monotonic() < deadline:
                frame_count += 1
        return VideoInfo(fps=float(fps), frame_count=frame_count, width=width, height=height)
    finally:
        cap.release()


def frame_encode(image: np.ndarray, *, width: int, quality: int) -> bytes:
    """Scale ``image`` down to ``width`` (0: as is) and encode it to JPEG."""
    if width and image.shape[1] > width:
        height = max(2, round(image.shape[0] * width / image.shape[1]))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return buffer.tobytes()


def rendition_width(*, requested: int | None, native_width: int, allowed: list[int]) -> int:
    """The rendition a viewer asking for ``requested`` pixels gets; 0 means native size.

    Requests snap down to one of the ``allowed`` widths so that a few shared encodes serve
    every viewer, however many different sizes their windows have.
    """
    if not requested or requested >= native_width:
        return 0
    fitting = [w for w in sorted(allowed) if w <= requested and w < native_width]
    if fitting:
        return fitting[-1]
    smaller = [w for w in sorted(allowed) if w < native_width]
    return smaller[0] if smaller else 0
