"""WebSocket authentication: the session's user at the handshake, ``send`` handed through."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from broadcastops.websocket_auth import WebSocketAuthMiddlewareStack

pytestmark = [pytest.mark.django_db(transaction=True)]


def _session_cookie(user, *, logged_out=False) -> bytes:
    client = Client()
    client.force_login(user)
    key = client.cookies["sessionid"].value
    if logged_out:
        client.logout()
    return f"sessionid={key}".encode()


def _recording_app(seen: dict):
    async def app(scope, receive, send):
        seen["user"] = await database_sync_to_async(lambda: scope["user"]._wrapped)()
        seen["send"] = send
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hello"})

    return app


async def _connect(cookie: bytes | None) -> tuple[dict, WebsocketCommunicator]:
    seen: dict = {}
    headers = [(b"cookie", cookie)] if cookie else []
    comm = WebsocketCommunicator(
        WebSocketAuthMiddlewareStack(_recording_app(seen)), "/ws/x/", headers=headers
    )
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_from() == "hello"
    return seen, comm


async def test_the_session_user_is_known_and_send_is_not_wrapped(viewer):
    seen, comm = await _connect(await database_sync_to_async(_session_cookie)(viewer))
    assert seen["user"].pk == viewer.pk
    # The application sends straight to the server: no per-message wrapper on the way.
    assert seen["send"] == comm.output_queue.put
    await comm.disconnect()


async def test_no_cookie_or_a_logged_out_session_is_anonymous(viewer):
    for cookie in (None, await database_sync_to_async(_session_cookie)(viewer, logged_out=True)):
        seen, comm = await _connect(cookie)
        assert seen["user"].is_anonymous
        await comm.disconnect()
