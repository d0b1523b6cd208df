"""One-line log records carrying the request id; JSON lines with ``LOG_FORMAT=json``.

No line shows a stream key or a URL's password (``SecretsFilter``).
"""

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from broadcastops.masking import secrets_mask

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Take the caller's ``X-Request-ID`` (when sane) or make one; echo it in the response.

    Sync and async alike, so that neither of Django's chains has to cross modes here.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        request_id = self._begin(request)
        return self._answered(self.get_response(request), request_id)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        request_id = self._begin(request)
        response = await self.get_response(request)
        return self._answered(response, request_id)

    @staticmethod
    def _begin(request: HttpRequest) -> str:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # read by the views
        # Not reset on the way out: Django logs 4xx/5xx responses after the middleware chain
        # returns, and those lines need the id too. The next request sets its own.
        request_id_var.set(request_id)
        return request_id

    @staticmethod
    def _answered(response: HttpResponse, request_id: str) -> HttpResponse:
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


_PLAIN = logging.Formatter()


class SecretsFilter(logging.Filter):
    """Mask stream keys, signed queries and URL passwords in every line (``masking``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = secrets_mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text: the traceback's messages are masked once, here.
            record.exc_text = secrets_mask(_PLAIN.formatException(record.exc_info))
        return True


class JsonFormatter(logging.Formatter):
    """A JSON object per line: time, level, logger, request id, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["exc_info"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False)
