"""``POST /api/v1/error-logs/mediamtx`` in the web process: an ASGI callable, no Django handler.

Registered in ``registry.HTTP_ENDPOINTS`` (``errorlogs.apps``), so ``request_guard`` hands it
the request after the body limit, in the event loop. What it leaves out is where Django spent
the time of each report (README, "Player error reports"): a thread for every middleware
(Django runs each synchronous one in its own hop), a session and user lookup the anonymous
player does not need, DRF's parsing, throttle (a cache file per request in the embedded
mode) and serializer, and above all a new database connection per request (every request
gets its own thread-sensitive thread under ASGI, and connections are per thread). The rows
are written by the process's one writer thread instead (``errorlogs.writer``), in batches,
and the answer waits until its batch is on disk.

It answers for itself what the middleware would have: CORS (``errorlogs.intake``), the request
id, ``nosniff``, ``no-store`` and the caller's language.

The report POST itself usually comes the lean way (``report_lean``, in
``registry.HTTP_LEAN_ENDPOINTS``): the web process calls it from Twisted's request, with no
ASGI scope and no task, and writes the answer as soon as the batch is on disk. Both ways run
the same three steps below (``_head``, ``_take``, the answer) and give the same answers.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from functools import partial

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from broadcastops.asgi_types import Answer, LeanBody, LeanRequest, Receive, Scope, Send
from broadcastops.errors import ApplicationError
from errorlogs import intake
from errorlogs.errors import ReportsUnavailable
from errorlogs.writer import WriterClosed, WriterFailed, WriterFull, writer

logger = logging.getLogger(__name__)

# Requests whose reports were handed to the writer and whose answer is not sent yet.
_answering = 0

# A nested function's annotations are evaluated each time its ``def`` runs: once a request.
_Reply = Callable[[Answer], None]

_WANTED = (b"origin", b"host", b"content-type", b"accept-language", b"x-request-id")


def _incoming(
    method: str, address: str, scheme: str, header: Callable[[bytes], str]
) -> intake.Incoming:
    return intake.Incoming(
        method=method,
        address=address,
        origin=header(b"origin"),
        own_origin=f"{scheme}://{header(b'host')}",
        content_type=header(b"content-type"),
        accept_language=header(b"accept-language"),
        request_id=intake.request_id(header(b"x-request-id")),
    )


def _scope_incoming(scope: Scope) -> intake.Incoming:
    found: dict[bytes, str] = {}
    for name, value in scope.get("headers", ()):
        if name in _WANTED and name not in found:
            found[name] = value.decode("latin-1")
    client = scope.get("client") or ("", 0)
    return _incoming(
        scope.get("method", ""),
        str(client[0] or ""),
        scope.get("scheme", "http"),
        lambda name: found.get(name, ""),
    )


def _language(incoming: intake.Incoming) -> AbstractContextManager[object]:
    # translation.override costs about 13 us a request; the caller's language is usually the
    # one already active.
    language = intake.language_of(incoming.accept_language)
    if language == translation.get_language():
        return contextlib.nullcontext()
    return translation.override(language)


def _answer(
    incoming: intake.Incoming,
    status: int,
    body: Mapping[str, object] | bytes | None,
    headers: Iterable[tuple[str, str]] = (),
) -> Answer:
    if isinstance(body, bytes):
        payload = body
    else:
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-request-id", incoming.request_id.encode()),
    ]
    raw += [(k.lower().encode(), v.encode("latin-1")) for k, v in headers]
    return Answer(status, raw, payload)


def _accepted(count: int) -> bytes:
    """``json.dumps({"accepted": count})``, byte for byte, without building an encoder for
    every answer."""
    return b'{"accepted": %d}' % count


def _refusal(
    incoming: intake.Incoming, exc: ApplicationError, cors: list[tuple[str, str]]
) -> Answer:
    status, body, headers = intake.error_answer(exc)
    if status >= 500:
        logger.warning("Reports refused with %s: %s", status, exc.message)
    return _answer(incoming, status, body, [*cors, *headers])


def _head(incoming: intake.Incoming, cors: list[tuple[str, str]]) -> Answer | None:
    """A POST's checks before its body (origin, throttle, media type): a refusal, or None."""
    try:
        with _language(incoming):
            intake.intake_check(incoming)
    except ApplicationError as exc:
        return _refusal(incoming, exc, cors)
    return None


def _take(
    incoming: intake.Incoming,
    cors: list[tuple[str, str]],
    body: bytes,
    reply: Callable[[Answer], None],
) -> None:
    """Parse ``body`` and hand its reports to the writer; ``reply`` gets the answer, once:
    at once for a refusal, else when the writer has them on disk (or has failed, or timed out).
    """
    global _answering
    try:
        with _language(incoming):
            reports = intake.intake_parse(incoming, body, received_at=timezone.now())
            try:
                kept = writer.submit_async(reports)
            except WriterClosed:
                raise ReportsUnavailable(
                    _("The server is restarting; send the reports again.")
                ) from None
            except WriterFull:
                raise ReportsUnavailable(
                    _("Too many reports are waiting to be written; send them again shortly."),
                    retry_after_s=2,
                ) from None
    except ApplicationError as exc:
        reply(_refusal(incoming, exc, cors))
        return
    _answering += 1
    _Pending(incoming, cors, kept, reply)


class _Pending:
    """One request's reports at the writer: answered once, on disk (202) or not (503)."""

    def __init__(
        self,
        incoming: intake.Incoming,
        cors: list[tuple[str, str]],
        kept: "asyncio.Future[int]",
        reply: Callable[[Answer], None],
    ) -> None:
        self._incoming, self._cors, self._reply = incoming, cors, reply
        self._reports = 0
        self._timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            settings.ERRORLOGS_WRITE_TIMEOUT_S, self._settle, None
        )
        kept.add_done_callback(self._settle)

    def _settle(self, kept: "asyncio.Future[int] | None") -> None:
        global _answering
        if self._timer is None:
            return  # answered already (the write timed out, then finished)
        self._timer.cancel()
        self._timer = None
        incoming = self._incoming
        try:
            if kept is not None and not kept.cancelled() and kept.exception() is None:
                answer = _answer(incoming, 202, _accepted(kept.result()), self._cors)
            else:
                if kept is not None and not kept.cancelled():
                    exc = kept.exception()
                    if not isinstance(exc, WriterFailed):
                        logger.error("Error reports writer failed", exc_info=exc)
                with _language(incoming):
                    refused = ReportsUnavailable(
                        _("The reports could not be written now; send them again.")
                    )
                answer = _refusal(incoming, refused, self._cors)
            self._reply(answer)
        finally:
            _answering -= 1


def report_lean(request: LeanRequest) -> Answer | LeanBody:
    """The report POST from the web process's lean path (``registry.HTTP_LEAN_ENDPOINTS``)."""
    incoming = _incoming(request.method, request.client, request.scheme, request.header)
    cors = intake.cors_headers(incoming)
    refused = _head(incoming, cors)
    if refused is not None:
        return refused

    def on_body(body: bytes, reply: _Reply) -> None:
        _take(incoming, cors, body, reply)

    return on_body


async def _send(send: Send, answer: Answer) -> None:
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _body(receive: Receive) -> bytes | None:
    """The whole body, or None when the client left (or the guard cut it off at its limit)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def report_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """The report path as an ASGI callable (``registry.HTTP_ENDPOINTS``): the preflight, other
    methods, and the POSTs the lean path leaves to it (chunked, over the limit)."""
    global _answering
    incoming = _scope_incoming(scope)
    cors = intake.cors_headers(incoming)
    if incoming.method == "OPTIONS":
        status = 204 if len(cors) > 1 else 403
        await _send(send, _answer(incoming, status, None, intake.preflight_headers(incoming)))
        return
    if incoming.method != "POST":
        with _language(incoming):
            body = {
                "code": "method_not_allowed",
                "message": _("Send reports with POST."),
                "detail": {},
            }
        await _send(send, _answer(incoming, 405, body, [*cors, ("Allow", "POST, OPTIONS")]))
        return
    refused = _head(incoming, cors)
    if refused is not None:
        await _send(send, refused)
        return
    data = await _body(receive)
    if data is None:
        return
    answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
    _answering += 1  # until the answer is handed to daphne, not only decided
    try:
        _take(incoming, cors, data, partial(_settle_once, answered))
        await _send(send, await asyncio.shield(answered))
    finally:
        _answering -= 1


def _settle_once(future: "asyncio.Future[Answer]", answer: Answer) -> None:
    if not future.done():  # else the request was cancelled (the process is stopping)
        future.set_result(answer)


async def writer_drain() -> None:
    """On SIGTERM (``registry.WEB_SHUTDOWN``): refuse new reports, write those accepted, and
    give their requests the moment they need to send their 202."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + settings.WEB_SHUTDOWN_DRAIN_S
    drained = await loop.run_in_executor(
        None, lambda: writer.close(timeout_s=settings.WEB_SHUTDOWN_DRAIN_S)
    )
    while _answering and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the answers leave the process's buffers
    logger.info("Error reports writer drained: %s (%s answers left)", drained, _answering)
