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
"""

import asyncio
import json
import logging
import time
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from broadcastops.asgi_types import Receive, Scope, Send
from broadcastops.errors import ApplicationError
from errorlogs import intake
from errorlogs.errors import ReportsUnavailable
from errorlogs.writer import WriterClosed, WriterFailed, WriterFull, writer

logger = logging.getLogger(__name__)

# Requests whose reports were handed to the writer and whose answer is not sent yet.
_answering = 0


def _incoming(scope: Scope) -> intake.Incoming:
    wanted = {
        b"origin": "",
        b"host": "",
        b"content-type": "",
        b"accept-language": "",
        b"x-request-id": "",
    }
    for name, value in scope.get("headers", ()):
        if name in wanted and not wanted[name]:
            wanted[name] = value.decode("latin-1")
    client = scope.get("client") or ("", 0)
    return intake.Incoming(
        method=scope.get("method", ""),
        address=str(client[0] or ""),
        origin=wanted[b"origin"],
        own_origin=f"{scope.get('scheme', 'http')}://{wanted[b'host']}",
        content_type=wanted[b"content-type"],
        accept_language=wanted[b"accept-language"],
        request_id=intake.request_id(wanted[b"x-request-id"]),
    )


async def _answer(
    send: Send,
    incoming: intake.Incoming,
    status: int,
    body: dict[str, Any] | None,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> None:
    payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-request-id", incoming.request_id.encode()),
    ]
    raw += [(k.lower().encode(), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


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
    incoming = _incoming(scope)
    cors = intake.cors_headers(incoming)
    with translation.override(intake.language_of(incoming.accept_language)):
        if incoming.method == "OPTIONS":
            status = 204 if len(cors) > 1 else 403
            await _answer(send, incoming, status, None, intake.preflight_headers(incoming))
            return
        if incoming.method != "POST":
            body = {
                "code": "method_not_allowed",
                "message": _("Send reports with POST."),
                "detail": {},
            }
            await _answer(send, incoming, 405, body, [*cors, ("Allow", "POST, OPTIONS")])
            return
        try:
            await _accept(scope, receive, send, incoming, cors)
        except ApplicationError as exc:
            status, body, headers = intake.error_answer(exc)
            if status >= 500:
                logger.warning("Reports refused with %s: %s", status, exc.message)
            await _answer(send, incoming, status, body, [*cors, *headers])


async def _accept(
    scope: Scope,
    receive: Receive,
    send: Send,
    incoming: intake.Incoming,
    cors: list[tuple[str, str]],
) -> None:
    intake.intake_check(incoming)
    body = await _body(receive)
    if body is None:
        return
    reports = intake.intake_parse(incoming, body, received_at=timezone.now())
    try:
        kept = writer.submit_async(reports)
    except WriterClosed:
        raise ReportsUnavailable(_("The server is restarting; send the reports again.")) from None
    except WriterFull:
        raise ReportsUnavailable(
            _("Too many reports are waiting to be written; send them again shortly."),
            retry_after_s=2,
        ) from None
    global _answering
    _answering += 1
    try:
        try:
            await asyncio.wait_for(asyncio.shield(kept), settings.ERRORLOGS_WRITE_TIMEOUT_S)
        except (TimeoutError, WriterFailed):
            raise ReportsUnavailable(
                _("The reports could not be written now; send them again.")
            ) from None
        await _answer(send, incoming, 202, intake.accepted_body(reports), cors)
    finally:
        _answering -= 1


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
