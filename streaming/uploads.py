"""The upload handler: the request body's video goes to disk chunk by chunk, never to memory.

Django hands each multipart chunk (64 KiB) to the handler as it parses; the handler writes
it to ``STREAMING_DIR/incoming/<random>.<ext>`` and refuses an unsupported type at the first
chunk and an oversize body as soon as it crosses the limit, deleting what it wrote.
"""

import logging
import uuid
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import HttpRequest
from django.utils.translation import gettext

from broadcastops.errors import PayloadTooLarge, ValidationFailed

logger = logging.getLogger(__name__)

FIELD = "video"


def size_limit_message() -> str:
    limit = settings.STREAMING_UPLOAD_MAX_BYTES
    shown = f"{limit / 1024**3:.1f} GiB" if limit >= 1024**3 else f"{limit / 1024**2:.0f} MiB"
    return gettext(
        "The video is larger than the %(limit)s limit; trim or compress it and try again."
    ) % {"limit": shown}


class IncomingVideo(UploadedFile):  # type: ignore[type-arg]  # stubs only: not generic at run time
    """A received video on disk, not yet checked; ``path`` is where the handler wrote it."""

    def __init__(
        self, *, path: Path, name: str | None, size: int, content_type: str | None
    ) -> None:
        super().__init__(file=path.open("rb"), name=name, content_type=content_type, size=size)
        self.path = path


class VideoUploadHandler(FileUploadHandler):
    chunk_size = 64 * 1024

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.path: Path | None = None
        self._out: BinaryIO | None = None
        self._size = 0

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        if (
            content_length
            and content_length
            > settings.STREAMING_UPLOAD_MAX_BYTES + settings.STREAMING_UPLOAD_ENVELOPE_BYTES
        ):
            raise PayloadTooLarge(
                size_limit_message(), detail={"limit_bytes": settings.STREAMING_UPLOAD_MAX_BYTES}
            )

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        if field_name != FIELD or self.path is not None:
            # One file per request. Skipping the part instead left Django's parser thinking the
            # upload was cut short (its last part kept nothing), so it called
            # upload_interrupted(): the finished video was deleted and the answer blamed it.
            raise ValidationFailed(
                gettext(
                    "Upload one video per request, in the form field “%(field)s”: "
                    "“%(name)s” is one file too many."
                )
                % {"field": FIELD, "name": file_name},
                code="one_video_only",
                detail={"field": FIELD},
            )
        super().new_file(field_name, file_name, *args, **kwargs)
        extension = Path(file_name).suffix.lower().lstrip(".")
        allowed = [e.lower() for e in settings.STREAMING_UPLOAD_EXTENSIONS]
        if extension not in allowed:
            raise ValidationFailed(
                gettext("“%(name)s” is not a supported video type; upload one of: %(types)s.")
                % {"name": file_name, "types": ", ".join(allowed)},
                code="unsupported_type",
                detail={"allowed": allowed},
            )
        directory = settings.STREAMING_DIR / "incoming"
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{uuid.uuid4().hex}.{extension}"
        self._out = self.path.open("wb")
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._size += len(raw_data)
        if self._size > settings.STREAMING_UPLOAD_MAX_BYTES:
            self.discard()
            raise PayloadTooLarge(
                size_limit_message(), detail={"limit_bytes": settings.STREAMING_UPLOAD_MAX_BYTES}
            )
        assert self._out is not None  # new_file opened it, or raised
        self._out.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> IncomingVideo | None:
        if self._out is None:
            return None
        self._out.close()
        self._out = None
        assert self.path is not None  # set with _out
        return IncomingVideo(
            path=self.path,
            name=self.file_name,
            size=file_size,
            content_type=self.content_type,
        )

    def upload_interrupted(self) -> None:
        self.discard()

    def discard(self) -> None:
        """Delete whatever was written; called on every error path and after each request."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if self.path is not None and self.path.exists():
            logger.info("Discarding an incomplete or refused upload file=%s", self.path.name)
            self.path.unlink(missing_ok=True)
