"""A request whose client went away is cancelled, without Django's disconnect cycle.

Django's handler raised ``RequestAborted`` in its disconnect listener and re-raised it into
its own frame, which holds the listener's task: a reference cycle (Django ticket #36700) that
kept every aborted request (its body, its DRF request, its session) until a full garbage
collection. After the benchmark's plain view had ~5,000 requests aborted, one such collection
freed 378,508 objects and stopped the event loop for 1.27 s (README, player error reports).
"""

import asyncio
import gc

import pytest
from django.core.exceptions import RequestAborted
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from broadcastops.request_guard import GuardedASGIHandler

CANCELLED: list[bool] = []
STARTED = asyncio.Event()


@csrf_exempt
async def slow(request):
    STARTED.set()
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        CANCELLED.append(True)
        raise
    return HttpResponse("late")


urlpatterns = [path("slow/", slow)]


@pytest.fixture
def handler(settings):
    settings.ROOT_URLCONF = __name__
    global STARTED
    CANCELLED.clear()
    STARTED = asyncio.Event()  # bound to the test's own loop
    return GuardedASGIHandler()


def _scope(method: str, body: bytes) -> dict:
    headers = [(b"host", b"127.0.0.1")]
    if body:
        headers += [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/slow/",
        "raw_path": b"/slow/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _left(handler, method: str, body: bytes) -> list[dict]:
    """Run a request whose client disconnects while the view runs; what was sent back."""
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await STARTED.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await asyncio.wait_for(handler(_scope(method, body), receive, send), 10)
    return sent


@pytest.mark.parametrize(("method", "body"), [("GET", b""), ("POST", b"a body")])
async def test_a_request_the_client_left_is_cancelled_and_leaves_no_aborted_cycle(
    handler, method, body
):
    gc.collect()
    gc.disable()  # what reference counting alone frees
    try:
        sent = await _left(handler, method, body)
        await asyncio.sleep(0)  # the handler's own tasks finish
        assert CANCELLED == [True]  # the view stopped when the client left
        assert sent == []  # and nothing was answered to nobody
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    aborted = [o for o in left if isinstance(o, RequestAborted)]
    assert aborted == [], "Django's disconnect listener raised again: a cycle per request"
    # Left, and upstream: the CancelledError that stops the view crosses the sync
    # middleware (ours, WhiteNoise's) through asgiref's AsyncToSync, whose main_wrap keeps it
    # in a cycle with its result future (asgiref 3.13): the request, and Django's handle
    # frame it passed through, are still freed by the collector only.
