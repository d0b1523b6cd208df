"""Writing prepared WebSocket frames straight to a socket: Twisted's real TCP connection.

The connection objects are Twisted's own (``tcp.Connection`` over a socket pair, with a
select reactor that is never run), so these tests fail if Twisted's buffer changes under
``transport_write``.
"""

import functools
import socket

import pytest
from autobahn.websocket.protocol import PreparedMessage
from channels.testing import WebsocketCommunicator
from twisted.internet import main, tcp
from twisted.internet.protocol import Protocol
from twisted.internet.selectreactor import SelectReactor

from broadcastops.websocket_broadcast import broadcast_writer, prepared, transport_write


@pytest.fixture
def pair():
    """(Twisted's connection on one end, the plain socket of the other end, the reactor)."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    reactor = SelectReactor()
    connection = tcp.Connection(ours, Protocol(), reactor)
    connection.connected = 1
    yield connection, theirs, reactor
    ours.close()
    theirs.close()


def _drain(connection, peer, expected_length: int) -> bytes:
    """Read the peer until ``expected_length`` bytes came, letting Twisted write its buffer."""
    peer.settimeout(2)
    received = bytearray()
    for _ in range(10_000):
        if len(received) >= expected_length:
            break
        connection.doWrite()
        try:
            received += peer.recv(1 << 20)
        except TimeoutError:
            break
    return bytes(received)


def _read_available(peer) -> bytes:
    peer.setblocking(False)
    received = bytearray()
    try:
        while chunk := peer.recv(1 << 20):
            received += chunk
    except BlockingIOError:
        pass
    peer.setblocking(True)
    return bytes(received)


def test_an_idle_socket_gets_the_bytes_at_once_without_the_event_loop(pair):
    connection, peer, reactor = pair
    transport_write(connection, b"frame-1")
    assert connection not in reactor.getWriters()
    assert connection._tempDataLen == 0
    assert peer.recv(100) == b"frame-1"


def test_what_the_kernel_does_not_take_waits_in_twisted_in_order(pair):
    connection, peer, reactor = pair
    big = bytes(range(256)) * 4096  # 1 MiB: more than both socket buffers together
    transport_write(connection, big)
    assert 0 < connection._tempDataLen < len(big)  # part sent, the rest buffered
    assert connection in reactor.getWriters()
    # The peer reads what the kernel holds, so the socket would take more; but the rest is
    # still waiting in Twisted, and the next message queues behind it instead of overtaking it.
    head = _read_available(peer)
    assert 0 < len(head) < len(big)
    transport_write(connection, b"after")
    # Twisted sends some of its buffer (what is left moves to another of its attributes).
    connection.doWrite()
    head += _read_available(peer)
    transport_write(connection, b"later")
    received = head + _drain(connection, peer, len(big) + 10 - len(head))
    assert received == big + b"after" + b"later"
    assert connection not in reactor.getWriters()
    # Idle again: straight to the socket.
    transport_write(connection, b"again")
    assert connection not in reactor.getWriters()
    assert peer.recv(100) == b"again"


def test_a_socket_whose_peer_is_gone_is_left_to_twisted_to_close(pair):
    connection, peer, _reactor = pair
    peer.close()
    transport_write(connection, b"lost")  # no exception on the event loop
    assert connection._tempDataLen == len(b"lost")
    assert connection.doWrite() is main.CONNECTION_LOST


def test_a_closing_connection_takes_the_buffered_path(pair):
    connection, _peer, reactor = pair
    connection.disconnecting = True
    transport_write(connection, b"late")
    assert connection._tempDataLen == len(b"late")
    assert connection in reactor.getWriters()


def test_a_half_closed_connection_sends_nothing(pair):
    connection, peer, _reactor = pair
    connection.loseWriteConnection()
    connection.doWrite()  # Twisted shuts the socket's sending side down
    transport_write(connection, b"after close")
    assert connection._tempDataLen == 0
    peer.settimeout(2)
    assert peer.recv(100) == b""  # the end of the stream, and nothing after it


def test_a_frame_is_prepared_once_and_framed_as_an_unmasked_binary_message():
    data = b"\xff\xd8" + b"x" * 70_000
    message = prepared(data)
    assert prepared(data) is message
    assert isinstance(message, PreparedMessage)
    wire = message.payloadHybi
    assert wire[0] == 0x82  # FIN, binary
    assert wire[1] == 127  # unmasked, 64-bit length follows
    assert int.from_bytes(wire[2:10], "big") == len(data)
    assert wire[10:] == data
    # Equal bytes in another object are another frame: the cache goes by identity.
    assert prepared(bytes(bytearray(data))) is not message


async def test_sends_that_are_not_daphnes_get_no_writer():
    assert broadcast_writer(print) is None
    assert broadcast_writer(functools.partial(print, object())) is None

    async def app(scope, receive, send):
        await receive()
        assert broadcast_writer(send) is None
        await send({"type": "websocket.accept"})

    communicator = WebsocketCommunicator(app, "/ws/x/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()
