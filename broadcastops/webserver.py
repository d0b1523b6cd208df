"""The web process: daphne, with each request body streamed to the application on demand.

Run it as daphne (same options): ``python -m broadcastops.webserver -b 127.0.0.1 -p 8000
broadcastops.asgi:application``.

daphne starts the application only once Twisted has received the whole request body: Twisted
keeps the body in a file and, for a multipart POST, parses all of it in memory inside the event
loop (``Request.requestReceived``: the body read whole, then ``email.message_from_bytes``;
twisted/twisted#5511; the opt-out of twisted/twisted#12412 drops the parse but still waits for
the whole body), and daphne then copies the whole body into the application's queue as 8 KiB
messages (django/daphne#483). Authentication and size limits therefore came
after the body: an anonymous 300 MB upload took daphne from 167 MB to 4.4 GB and froze every
other request for seconds. Here, for a request that has a body:

- the application starts as soon as the headers are in (``gotLength``), so it can answer 401
  or 413 (``broadcastops.request_guard``) before the body is read;
- the socket is paused at once: nothing past the first read is taken until the application
  calls ``receive()``; ``Expect: 100-continue`` is answered then, not at once as Twisted does;
- then at most ``READ_AHEAD_BYTES`` wait in memory; past that the socket stays paused, and
  TCP slows the client down to the pace the application reads at;
- Twisted's form parsing is skipped: the application parses the body as it reads it;
- an answer sent before the whole body came closes the connection (what is left of the body
  is never parsed as another request), after a short linger so the client can read it.

A path an app serves itself on a lean path (``registry.HTTP_LEAN_ENDPOINTS``: the player error
reports, 1,000 a second in an outage) skips daphne's ``process()``, the ASGI scope and the
application task for a POST that declares its length within the path's body limit: the
endpoint is called at the headers (it may refuse before the body, which is then not read) and
with the whole body, and its answer is written as soon as it has it. Everything else on that
path (chunked, over the limit, ``Expect``, another method, a header daphne would refuse) takes
the usual way, where the request guard and the path's ``HTTP_ENDPOINTS`` callable answer it.

WebSocket handshakes and requests without a body take daphne's own path, unchanged (the
live-monitoring fan-out writes to daphne's WebSocket sockets: broadcastops/websocket_broadcast).
The server's own error answers (a too-long request line or header section, a malformed
request, daphne's 500 and 503) are JSON ``{"code", "message", "detail"}`` like every answer
of the console.
"""

import daphne.server  # isort: skip  (installs Twisted's asyncio reactor before anything else)

import asyncio
import contextvars
import gc
import json
import logging
import re
import time
import weakref
from collections import deque
from functools import partial
from typing import Any

from daphne import cli
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.utils import HEADER_NAME_RE, INVALID_HEADER_VALUE_BYTES, parse_x_forwarded_for
from django.conf import settings
from django.utils.translation import gettext
from twisted.internet import defer
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web import http

from broadcastops import registry
from broadcastops.asgi_types import Answer, LeanBody, LeanRequest

logger = logging.getLogger(__name__)

# Body bytes read ahead of the application (past one socket read of up to 64 KiB): enough for
# the reading thread never to wait for the network on a fast link, little enough per upload.
READ_AHEAD_BYTES = 1024 * 1024
# After answering a request whose body was not read, how long the connection stays half-closed
# (the answer and a FIN sent, nothing more read) before it is dropped. Closing at once, with
# unread data waiting, makes the kernel reset the connection, which can destroy the answer
# still on its way to a client that is busy sending.
LINGER_S = 2.0
# Connections the kernel keeps waiting for accept(). Twisted's default, 50, overflowed when 500
# players reconnected at once to a busy process: with SYN cookies some of them were reset
# (TcpExtListenOverflows, TcpExtSyncookiesFailed; 135 of 500 in one benchmark run). The
# kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024
# A full (generation 2) collection after this many of generation 1 (Python's default: 10).
# Each full pass walks everything allocated since start-up (``gc.freeze()``, asgi.py) and
# stalls the event loop: at 1,000 reports/s offered, 8 passes in 10 s of 107-120 ms at most,
# 436-483 ms in all; with 100, one pass of 35-41 ms (two runs each, gc.callbacks), p99
# 276-281 ms -> 223-260 ms. A report request leaves no cycle (test_webserver_garbage).
FULL_COLLECTION_THRESHOLD = 100
# daphne's INVALID_HEADER_VALUE_BYTES as a search: its set intersection walks a header value
# byte by byte in Python objects (a browser's User-Agent: about 120 of them a request).
_INVALID_VALUE = re.compile(b"[" + re.escape(bytes(sorted(INVALID_HEADER_VALUE_BYTES))) + b"]")


def _error_response(
    status: int, reason: bytes, code: str, message: str, detail: Any = None
) -> bytes:
    """A whole HTTP/1.1 answer with the console's error body, for the connection's last words."""
    body = json.dumps(
        {"code": code, "message": message, "detail": detail or {}}, ensure_ascii=False
    ).encode()
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % (status, reason, len(body))
    )
    return head + body


class _ReadGate:
    """The transport's reading, paused while Twisted or a request body wants it paused.

    Twisted pauses and resumes reading for its own reasons (a full send buffer, pipelined
    requests); the body holds it paused until the application asks for more. Reading resumes
    only when neither does.
    """

    def __init__(self, producer: Any):
        self._producer = producer
        self._twisted_paused = False
        self._body_held = False
        self._reading = True

    def pauseProducing(self) -> None:
        self._twisted_paused = True
        self._apply()

    def resumeProducing(self) -> None:
        self._twisted_paused = False
        self._apply()

    def hold_body(self, held: bool) -> None:
        self._body_held = held
        self._apply()

    def _apply(self) -> None:
        reading = not (self._twisted_paused or self._body_held)
        if reading != self._reading:
            self._reading = reading
            if reading:
                # asyncio runs a reader callback in the context current when it was added. The
                # application resumes reading from its own context (an upload's view thread
                # reaches here through async_to_sync, whose executor lives in it): every later
                # read of the connection, and the next request started from one, would run in
                # that context and find the finished upload's executor.
                contextvars.Context().run(self._producer.resumeProducing)
            else:
                self._producer.pauseProducing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)


class RequestBody:
    """One request's body, handed to the application as it asks for it (its ASGI ``receive``).

    Fed by Twisted and read by the application on the same event loop. daphne puts
    ``http.disconnect`` here when the connection ends (``put_nowait``, as on its own queue).

    It refers to its request weakly: the request holds it (``request.body``), and a strong
    reference back made each request, its headers and addresses (about 27 objects) a cycle
    that only the collector's full passes freed. With 1,000 report requests a second those
    passes took 60-290 ms each, about one a second, stalling the event loop (measured with
    ``gc.callbacks`` in the web process; ``gc.DEBUG_SAVEALL`` showed what they freed).
    """

    def __init__(self, request: "BodyStreamingRequest", *, expects_continue: bool):
        self._request = weakref.ref(request)
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._asked = False
        self._expects_continue = expects_continue
        self._end_delivered = False
        self._disconnected = False
        self._waiters: list[asyncio.Future[None]] = []
        self.complete = False

    # Twisted's side.

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= READ_AHEAD_BYTES:
            self._hold(True)
        self._wake()

    def end(self) -> None:
        self.complete = True
        # Nothing more of this body to read: whatever follows is Twisted's (pipelining).
        self._hold(False)
        self._wake()

    def put_nowait(self, message: dict[str, Any]) -> None:
        if message.get("type") == "http.disconnect":
            self._disconnected = True
            self._wake()

    # The application's side.

    async def receive(self) -> dict[str, Any]:
        if not self._asked:
            self._asked = True
            request = self._request()
            channel = request.channel if request is not None else None
            if self._expects_continue and not self.complete and channel is not None:
                channel.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        while True:
            if self._chunks:
                data = b"".join(self._chunks)
                self._chunks.clear()
                self._buffered = 0
                more = not self.complete
                self._end_delivered = not more
                if more:
                    self._hold(False)
                return {"type": "http.request", "body": data, "more_body": more}
            if self.complete and not self._end_delivered:
                self._end_delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if self._disconnected:
                return {"type": "http.disconnect"}
            if not self.complete:
                self._hold(False)
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _hold(self, held: bool) -> None:
        request = self._request()
        channel = request.channel if request is not None else None
        if channel is not None and not self._disconnected:
            channel.hold_body(held)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class _NoContent:
    """``Request.content`` of a streamed request: its body went to the application instead.

    daphne's ``process()`` seeks it, then stops before copying it to the application because
    it is ``closed``: what is left of ``process()`` (validation and the ASGI scope) stays daphne's.
    """

    closed = True

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


_NO_CONTENT = _NoContent()


class _LeanBody:
    """A lean request's body (``registry.HTTP_LEAN_ENDPOINTS``), kept whole for its endpoint.

    Its length was declared and is within the path's limit, so Twisted reads it all.
    ``complete`` as ``RequestBody``'s: the channel closes a connection whose body was not all
    read when the request was answered.
    """

    def __init__(self, on_body: LeanBody | None):
        self.on_body = on_body  # None: refused before the body, which is dropped
        self.chunks: list[bytes] = []
        self.complete = False


def _write_now(transport: Any, data: bytes) -> None:
    """``transport.write(data)``, sent at once when nothing is waiting to be sent before it."""
    write_some = getattr(transport, "writeSomeData", None)  # a TCP socket's; not TLS's
    if (
        write_some is not None
        and transport.connected
        and not transport.dataBuffer
        and not transport._tempDataBuffer
    ):
        sent = write_some(data)
        if not isinstance(sent, int):
            return  # the connection is lost: Twisted finds out as it reads
        data = data[sent:]
    if data:
        transport.write(data)


class BodyStreamingRequest(WebRequest):
    """daphne's request, started at its headers when it has a body (see the module docstring)."""

    body: RequestBody | _LeanBody | None = None

    def gotLength(self, length: int | None) -> None:
        upgrade = (self.requestHeaders.getRawHeaders(b"upgrade") or [b""])[0].lower()
        if length == 0 or upgrade == b"websocket":
            if length != 0:
                # A WebSocket handshake has no body; Twisted would store this one on disk.
                self.channel.refuse(
                    400,
                    b"Bad Request",
                    "bad_request",
                    gettext("A WebSocket handshake cannot carry a body."),
                )
                return
            super().gotLength(length)
            return
        channel = self.channel
        # What requestReceived() sets once the body is in; daphne's process() reads them.
        self.method, self.uri, self.clientproto = channel._command, channel._path, channel._version
        self.path = self.uri.split(b"?", 1)[0]
        self.args: dict[bytes, list[bytes]] = {}
        self.content = _NO_CONTENT
        expect = (self.requestHeaders.getRawHeaders(b"expect") or [b""])[0].lower()
        if not expect and self._lean_started(length):
            return
        expects_continue = expect == b"100-continue" and self.clientproto == b"HTTP/1.1"
        if expects_continue:
            # Twisted answers 100 Continue right after this call; the body answers it when the
            # application first asks for the body, so a refused request never gets the body.
            self.requestHeaders.removeHeader(b"expect")
        self.body = RequestBody(self, expects_continue=expects_continue)
        channel.hold_body(True)
        self.process()

    def _lean_started(self, length: int | None) -> bool:
        """Hand the request to its path's lean endpoint, if it has one and may take it."""
        endpoint = registry.HTTP_LEAN_ENDPOINTS.get(self.path.decode("latin-1"))
        if endpoint is None or self.method != b"POST" or length is None:
            return False
        from broadcastops.request_guard import path_rule  # needs Django set up

        if length > path_rule(self.path.decode("latin-1")).max_bytes:
            return False  # the request guard's 413, with its message
        first: dict[bytes, bytes] = {}  # each header's first value, by lower-case name
        for name, values in self.requestHeaders.getAllRawHeaders():
            # What daphne's process() refuses (its 400), it still refuses.
            if not HEADER_NAME_RE.fullmatch(name) or any(
                _INVALID_VALUE.search(value) for value in values
            ):
                return False
            if values:
                first.setdefault(name.lower(), values[0])
        self.request_start = time.time()  # daphne's timeouts and access log count from here
        peer: Any = self.client
        address, scheme = [str(peer.host), peer.port], "https" if self.isSecure() else "http"
        if self.server.proxy_forwarded_address_header:
            address, scheme = parse_x_forwarded_for(
                self.requestHeaders,
                self.server.proxy_forwarded_address_header,
                self.server.proxy_forwarded_port_header,
                self.server.proxy_forwarded_proto_header,
                address,
                scheme,
            )
        self.client_addr = address

        def header(name: bytes) -> str:
            value = first.get(name)
            return "" if value is None else value.decode("latin-1")

        taken = endpoint(
            LeanRequest(
                method="POST",
                path=self.path.decode("latin-1"),
                scheme=scheme,
                client=str(address[0]) if address else "",
                header=header,
            )
        )
        if isinstance(taken, Answer):
            self.body = _LeanBody(None)
            self.channel.hold_body(True)  # refused: its body is not read
            asyncio.get_running_loop().call_soon(self.lean_reply, taken)
        else:
            self.body = _LeanBody(taken)
        return True

    def lean_reply(self, answer: Answer) -> None:
        """Write a lean request's answer now (daphne's ``handle_reply``, without its checks)."""
        if self.finished or self.channel is None:
            return  # the client left
        assert isinstance(self.body, _LeanBody)
        if not self.body.complete:
            self.channel.persistent = False  # the rest of its body will not be read
            self.responseHeaders.setRawHeaders(b"connection", [b"close"])
        self.setResponseCode(answer.status)
        # The whole answer in one write, sent now: Twisted's write would buffer it and send it
        # on the loop's next pass, registering and removing a writer (two epoll_ctl calls).
        head = [b"%s %d %s\r\n" % (self.clientproto, self.code, self.code_message)]
        head += [
            b"%s: %s\r\n" % (n, v) for n, vs in self.responseHeaders.getAllRawHeaders() for v in vs
        ]
        head += [b"%s: %s\r\n" % pair for pair in answer.headers]
        if self.server.server_name:
            head.append(b"server: %s\r\n" % self.server.server_name.encode())
        head.append(b"\r\n")
        _write_now(self.channel.transport, b"".join(head) + answer.body)
        self.startedWriting, self.sentLength = 1, len(answer.body)
        self.finish()
        if not 200 <= answer.status < 300:
            self.server.log_action(
                "http",
                "complete",
                {
                    "path": self.path.decode("latin-1"),
                    "status": answer.status,
                    "method": "POST",
                    "client": f"{self.client_addr[0]}:{self.client_addr[1]}"
                    if self.client_addr
                    else None,
                    "time_taken": self.duration(),
                    "size": self.sentLength,
                },
            )

    def handleContentChunk(self, data: bytes) -> None:
        if self.body is None:
            super().handleContentChunk(data)
        elif isinstance(self.body, _LeanBody):
            if self.body.on_body is not None:
                self.body.chunks.append(data)
        elif not self.finished:
            self.body.feed(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self.body is None:
            super().requestReceived(command, path, version)
            return
        if isinstance(self.body, _LeanBody):
            body, self.body.complete = self.body, True
            if body.on_body is None:
                if self.channel is not None:
                    self.channel.hold_body(False)  # the refused body came all the same: read on
            elif not self.finished:
                data, body.chunks = b"".join(body.chunks), []
                try:
                    body.on_body(data, self.lean_reply)
                except Exception:
                    logger.exception("The lean endpoint of %s failed", self.path)
                    self.basic_error(500, b"Internal Server Error", "")
            return
        # The whole body has been received and handed on; the application is already running
        # (Twisted would parse a form body here, all of it in memory, and then start it).
        self.body.end()

    def handle_reply(self, message: dict[str, Any]) -> None:
        super().handle_reply(message)
        if (
            message.get("type") == "http.response.start"
            and isinstance(self.body, RequestBody)
            and not self.body.complete
            and not self.finished
            and self.channel is not None
        ):
            # Answered before the body was all read: the rest of the body will not be read, so
            # this connection cannot carry another request.
            self.channel.persistent = False
            self.responseHeaders.setRawHeaders(b"connection", [b"close"])

    def basic_error(self, status: int, status_text: bytes, body: str) -> None:
        codes = {400: "bad_request", 500: "server_error", 503: "server_timeout"}
        messages = {
            400: gettext("The request is malformed: %(reason)s.") % {"reason": body},
            500: gettext("Something went wrong on our side; it was logged."),
            503: gettext("The server took too long to answer; try again."),
        }
        payload = json.dumps(
            {
                "code": codes.get(status, "error"),
                "message": messages.get(status, body),
                "detail": {},
            },
            ensure_ascii=False,
        ).encode()
        self.handle_reply(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"Content-Type", b"application/json"),
                    (b"Content-Length", b"%d" % len(payload)),
                ],
            }
        )
        self.handle_reply({"type": "http.response.body", "body": payload})


class BodyStreamingChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 connection, with reading paused for the body and JSON refusals."""

    _left_unread = False
    _linger = None

    def connectionMade(self) -> None:
        super().connectionMade()
        # Stands in for the transport as Twisted's producer (it forwards everything else).
        self._networkProducer = _ReadGate(self._networkProducer)  # type: ignore[assignment]

    def hold_body(self, held: bool) -> None:
        self._networkProducer.hold_body(held)

    # A connection's addresses never change, but Twisted asks the transport again for every
    # request it starts (``Request.__init__``): a ``getsockname`` system call and two address
    # objects each time, about 6 % of a report request's time in the event loop (py-spy).
    _host: Any = None
    _peer: Any = None

    def getHost(self) -> Any:
        if self._host is None:
            self._host = super().getHost()
        return self._host

    def getPeer(self) -> Any:
        if self._peer is None:
            self._peer = super().getPeer()
        return self._peer

    def lineReceived(self, line: bytes) -> None:
        if self._left_unread:
            return None
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._refuse_head_too_long()
            return None
        super().lineReceived(line)
        return None

    def rawDataReceived(self, data: bytes) -> None:
        if self._left_unread:
            return  # the end of a body answered without it: never a next request
        super().rawDataReceived(data)

    def lineLengthExceeded(self, line: bytes) -> None:
        if not self._left_unread:
            self._refuse_head_too_long()

    def _refuse_head_too_long(self) -> None:
        limit = {"limit_bytes": self.totalHeadersSize}
        # ``_command`` is set once the request line has been parsed.
        if not hasattr(self, "_command"):
            self.refuse(
                414,
                b"URI Too Long",
                "uri_too_long",
                gettext("The address is too long: this server takes at most %(limit)s bytes.")
                % {"limit": self.totalHeadersSize},
                limit,
            )
        else:
            self.refuse(
                431,
                b"Request Header Fields Too Large",
                "headers_too_large",
                gettext("The request's headers are too large: at most %(limit)s bytes in all.")
                % {"limit": self.totalHeadersSize},
                limit,
            )

    def _respondToBadRequestAndDisconnect(self) -> None:
        self.refuse(400, b"Bad Request", "bad_request", gettext("The request is not valid HTTP."))

    def refuse(
        self, status: int, reason: bytes, code: str, message: str, detail: Any = None
    ) -> None:
        """Answer with a JSON error and close, reading nothing more."""
        if self._left_unread:
            return
        logger.info("Refused a request status=%s code=%s peer=%s", status, code, self.getPeer())
        transport: Any = self.transport
        transport.write(_error_response(status, reason, code, message, detail))
        self._left_unread = True
        self.loseConnection()

    def requestDone(self, request: Any) -> None:
        body = getattr(request, "body", None)
        if body is not None and not body.complete:
            self.persistent = False
            self._left_unread = True
        super().requestDone(request)

    def loseConnection(self) -> None:
        if not self._left_unread or self.transport is None:
            super().loseConnection()
            return
        if self._linger is None:
            transport: Any = self.transport
            self.hold_body(True)
            self._networkProducer.unregisterProducer()
            transport.loseWriteConnection()
            self._linger = self.callLater(LINGER_S, transport.abortConnection)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)


class BodyStreamingFactory(HTTPFactory):
    def protocol(self) -> BodyStreamingChannel:
        return BodyStreamingChannel()

    def log(self, request: Any) -> None:
        # Twisted's own access line for every request, formatted and handed to Twisted's log,
        # which daphne sends nowhere (or, verbosity 2 and up, to the standard log beside its
        # own access line): daphne writes its access log itself (``log_action``). The line
        # cost about 25 us a request (cProfile: 76 us with its overhead).
        pass

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BodyStreamingRequest
        return protocol

    def acceptableProtocols(self) -> list[bytes]:
        # HTTP/1.1 only: the body streaming lives in the HTTP/1.1 channel.
        return [b"http/1.1"]


def _with_backlog(endpoint: str) -> str:
    """A listening endpoint with ``LISTEN_BACKLOG`` unless it names its own (tcp, unix)."""
    if endpoint.split(":", 1)[0] in ("tcp", "tcp6", "unix") and "backlog=" not in endpoint:
        return f"{endpoint}:backlog={LISTEN_BACKLOG}"
    return endpoint


class BodyStreamingServer(daphne.server.Server):
    """daphne's server listening with ``BodyStreamingFactory``."""

    def run(self) -> None:
        endpoints: list[str] = getattr(self, "endpoints", [])  # set by daphne's __init__
        self.endpoints = [_with_backlog(endpoint) for endpoint in endpoints]
        gen0, gen1, _gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, FULL_COLLECTION_THRESHOLD)
        super().run()

    @property
    def http_factory(self) -> BodyStreamingFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: Any) -> None:
        # daphne's run() builds its own factory and listens with whatever this attribute holds.
        self._http_factory = BodyStreamingFactory(self)

    def log_action(self, protocol: Any, action: str, details: dict[str, Any]) -> None:
        # An app's own high-volume endpoint (registry.HTTP_ENDPOINTS: a burst of player
        # reports) writes no access line per accepted request: one line each on a pipe was
        # about a tenth of such a request's cost. Its refusals are still written.
        if (
            action == "complete"
            and 200 <= int(details.get("status") or 0) < 300
            and registry.HTTP_ENDPOINTS.get(str(details.get("path", ""))) is not None
        ):
            return
        super().log_action(protocol, action, details)

    def kill_all_applications(self) -> Any:
        """On SIGTERM, before daphne cancels the requests still running: the apps' drains
        (``registry.WEB_SHUTDOWN``: the error reports' writer finishes and answers what it
        accepted), for at most ``WEB_SHUTDOWN_DRAIN_S``."""
        drains = registry.WEB_SHUTDOWN.all()
        if not drains:
            return self._kill_applications()

        async def drain_all() -> None:
            try:
                await asyncio.wait_for(
                    asyncio.gather(*(drain() for drain in drains), return_exceptions=True),
                    settings.WEB_SHUTDOWN_DRAIN_S,
                )
            except TimeoutError:
                logger.warning(
                    "Shutdown drains still running after %ss", settings.WEB_SHUTDOWN_DRAIN_S
                )

        drained = defer.Deferred.fromFuture(asyncio.ensure_future(drain_all()))
        drained.addBoth(lambda _: self._kill_applications())
        return drained

    def _kill_applications(self) -> Any:
        # daphne's kill_all_applications() expects an application on every connection; a lean
        # request has none (nor has a request whose headers are still coming).
        for protocol, details in list(self.connections.items()):
            if "application_instance" not in details:
                del self.connections[protocol]
        return super().kill_all_applications()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        body = getattr(protocol, "body", None)
        if body is None:
            return super().create_application(protocol, scope)
        # daphne's create_application, with the body as the application's receive.
        assert "application_instance" not in self.connections[protocol]
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(
            scope=scope, receive=body.receive, send=partial(self.handle_reply, protocol)
        )
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            instance, loop=asyncio.get_event_loop()
        )
        return body


class CommandLineInterface(cli.CommandLineInterface):
    description = "BroadcastOps web process: daphne with request bodies streamed on demand"
    server_class = BodyStreamingServer


if __name__ == "__main__":
    CommandLineInterface.entrypoint()
