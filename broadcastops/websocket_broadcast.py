"""One message to many WebSockets: framed once, written to each socket as it is.

A server sends its WebSocket frames unmasked (RFC 6455 §5.1), so the bytes on the wire are the
same for every viewer of a live frame. autobahn's ``PreparedMessage`` (daphne's WebSocket
engine) is its answer for broadcasting: the frame is built once, header and payload.

The write itself is what costs. Twisted's ``transport.write`` only buffers: it registers the
socket with the event loop (an ``epoll_ctl``), the loop calls back when the socket is
writable, the data is sent and the socket unregistered (another ``epoll_ctl``). With 300
live-monitoring viewers that round trip was a quarter of daphne's CPU (py-spy,
benchmarks/streaming_fanout.py). asyncio's own transports first try to send at once and
buffer only what the kernel does not take; ``broadcast_writer`` does the same for a daphne
socket whose buffer is empty, and hands everything else to Twisted as before: a socket with
data waiting (so the order of bytes is kept), a partial send's remainder, an error (Twisted
notices it and closes the connection as usual), TLS.

``broadcast_writer(send)`` finds daphne's protocol behind the ASGI ``send`` of a connection
and returns the writer, or ``None`` when the server is not daphne (a test communicator,
another server): the caller then sends through ASGI. Text messages sent through ASGI and
frames written here go out in the order they were sent: both write synchronously on the
event loop, and the writer sends directly only while nothing is waiting.
"""

import functools
from collections import OrderedDict
from collections.abc import Callable

from autobahn.websocket.protocol import PreparedMessage
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import tcp

from broadcastops.asgi_types import Send

# Frames prepared lately, by the identity of their payload. The payload is held too, so its id
# cannot be reused by another object while the entry lives; a few entries cover every
# rendition and camera that a fan-out pass and the acknowledgements between two passes touch.
_RECENT_LIMIT = 16
_recent: OrderedDict[int, tuple[bytes, PreparedMessage]] = OrderedDict()


def prepared(data: bytes) -> PreparedMessage:
    """The binary WebSocket frame of ``data``, built once however many sockets it goes to.

    Only called on the event loop's thread.
    """
    entry = _recent.get(id(data))
    if entry is not None and entry[0] is data:
        return entry[1]
    message = PreparedMessage(data, isBinary=True, applyMask=False, doNotCompress=True)
    _recent[id(data)] = (data, message)
    if len(_recent) > _RECENT_LIMIT:
        _recent.popitem(last=False)
    return message


def transport_write(transport: tcp.Connection, wire: bytes) -> None:
    """Send ``wire`` now if the socket takes it; leave the rest to Twisted's buffer.

    Only for a plain TCP transport with nothing buffered; anything else goes to
    ``transport.write`` whole.
    """
    idle = (
        not transport.TLS
        and transport.connected
        and not transport.disconnecting
        and not transport._writeDisconnected
        and not transport._tempDataLen
        and transport.offset == len(transport.dataBuffer)
    )
    if not idle:
        transport.write(wire)
        return
    try:
        sent = transport.socket.send(wire)
    except BlockingIOError:
        sent = 0
    except OSError:
        # Reset, broken pipe…: Twisted's own write finds the same error and closes cleanly.
        transport.write(wire)
        return
    if sent < len(wire):
        transport.write(wire[sent:])


def _direct_capable(protocol: WebSocketProtocol) -> bool:
    """A plain TCP transport with the buffer attributes ``transport_write`` reads."""
    transport = protocol.transport
    return isinstance(transport, tcp.Connection) and all(
        hasattr(transport, name)
        for name in (
            "TLS",
            "connected",
            "disconnecting",
            "_writeDisconnected",
            "_tempDataLen",
            "offset",
            "dataBuffer",
        )
    )


def broadcast_writer(send: Send) -> Callable[[bytes], None] | None:
    """Writes ``data`` as one binary message straight to daphne's socket behind ``send``."""
    if not (
        isinstance(send, functools.partial)
        and getattr(send.func, "__func__", None) is Server.handle_reply
        and len(send.args) == 1
        and isinstance(send.args[0], WebSocketProtocol)
    ):
        return None
    protocol = send.args[0]
    direct = _direct_capable(protocol)

    def write(data: bytes) -> None:
        # What daphne's own send would skip: a socket not open (closing, closed) takes nothing.
        if protocol.state != WebSocketProtocol.STATE_OPEN:
            return
        message = prepared(data)
        if direct and not protocol.send_queue:
            transport_write(protocol.transport, message.payloadHybi)
        else:
            protocol.sendPreparedMessage(message)

    return write
