"""The one frame format used everywhere: a JPEG carrying a small comment segment.

The producer encodes a frame once and the same bytes go to every viewer, over the
WebSocket, the MJPEG response, the snapshot and Redis pub/sub. The comment segment (JPEG
``COM``, ignored by every decoder) carries the sequence number, the encode time, the playback
position and the session id, so a remote process or a benchmark client can read them
without a second message per frame.
"""

import struct
import uuid
from dataclasses import dataclass

MAGIC = b"BOPS"
_PAYLOAD = struct.Struct("<4sQdd16s")
_SEGMENT_LEN = 2 + _PAYLOAD.size  # the JPEG length field counts itself
HEADER_SIZE = 2 + 2 + _SEGMENT_LEN  # SOI is kept first; COM marker + length + payload follow


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded frame of one rendition (``width`` 0 is the session's native size)."""

    camera_id: str
    width: int
    seq: int
    encoded_at: float
    position_s: float
    session_id: str
    data: bytes


def frame_pack(
    *, jpeg: bytes, seq: int, encoded_at: float, position_s: float, session_id: str
) -> bytes:
    """Insert the comment segment right after the JPEG start-of-image marker."""
    payload = _PAYLOAD.pack(MAGIC, seq, encoded_at, position_s, uuid.UUID(session_id).bytes)
    return b"".join((jpeg[:2], b"\xff\xfe", _SEGMENT_LEN.to_bytes(2, "big"), payload, jpeg[2:]))


def frame_unpack(data: bytes, *, camera_id: str, width: int) -> Frame | None:
    """Read a packed frame; None for bytes that are not one (a foreign publisher)."""
    if len(data) < HEADER_SIZE or data[:4] != b"\xff\xd8\xff\xfe":
        return None
    magic, seq, encoded_at, position_s, session = _PAYLOAD.unpack_from(data, 6)
    if magic != MAGIC:
        return None
    return Frame(
        camera_id=camera_id,
        width=width,
        seq=seq,
        encoded_at=encoded_at,
        position_s=position_s,
        session_id=str(uuid.UUID(bytes=session)),
        data=data,
    )
