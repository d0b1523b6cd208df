"""A request whose client went away is cancelled, without Django's disconnect cycle.

Django's handler raised ``RequestAborted`` in its disconnect listener and re-raised it into
its own frame, which holds the listener's task: a reference cycle (Django ticket #36700) that
kept every aborted request (its body, its DRF request, its session) until a full garbage
collection. After the benchmark's plain view had ~5,000 requests aborted, one such collection
freed 378,508 objects and stopped the event loop for 1.27 s (README, player error reports).

The cancel then crossed asgiref's ``async_to_sync`` (around the sync-only middleware), whose
``main_wrap`` keeps it in a cycle with its result future: still 239-307 objects of each aborted
request (its frames and tracebacks) for the collector. ``GuardedASGIHandler`` now runs a sync
view's request in one hop to Django's thread and an async view's in a chain of async-capable
middleware, so neither crosses it; and it breaks the cycles every Django request is (its lazy
user, its messages, a class-based view), so nothing of an answered request or of an aborted
sync view's waits for the collector.
"""

import asyncio
import threading
from collections import Counter

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.request_guard import GuardedASGIHandler
from broadcastops.tests.helpers import asgi_http_scope, garbage_left

CANCELLED: list[bool] = []
STARTED = asyncio.Event()
RELEASE = threading.Event()  # lets the sync view's thread finish
LOOP: list[asyncio.AbstractEventLoop] = []


@csrf_exempt
async def slow(request):
    STARTED.set()
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        CANCELLED.append(True)
        raise
    return HttpResponse("late")


@csrf_exempt
def slow_sync(request):
    # A thread cannot be cancelled: the view runs on, and its answer goes nowhere.
    LOOP[0].call_soon_threadsafe(STARTED.set)
    RELEASE.wait(10)
    return HttpResponse("late")


@csrf_exempt
def fast_sync(request):
    # The user (from the session), the messages and the CSP nonce: the usual cycles.
    messages = list(get_messages(request))
    return HttpResponse(f"answered {request.user.is_authenticated} {messages} {request.csp_nonce}")


class FastApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        return Response({"answered": str(request.user.is_authenticated)})


urlpatterns = [
    path("slow/", slow),
    path("slow-sync/", slow_sync),
    path("fast/", fast_sync),
    path("fast-api/", FastApi.as_view()),
]


@pytest.fixture
def handler(settings):
    settings.ROOT_URLCONF = __name__
    global STARTED
    CANCELLED.clear()
    RELEASE.clear()
    STARTED = asyncio.Event()  # bound to the test's own loop
    return GuardedASGIHandler()


async def _left(handler, method: str, body: bytes, where: str) -> list[dict]:
    """Run a request whose client disconnects while the view runs; what was sent back."""
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await STARTED.wait()
        # A sync view's thread cannot be stopped; Django's handler waits for that thread
        # (the request_finished signal runs in it), so the view is let go after the cancel.
        asyncio.get_running_loop().call_later(0.2, RELEASE.set)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await asyncio.wait_for(handler(asgi_http_scope(method, where, body), receive, send), 10)
    return sent


async def _garbage_of(request) -> Counter:
    """What a request left for the collector, by type."""
    with garbage_left() as left:
        await request
        await asyncio.sleep(0)  # the handler's own tasks finish
    return left


@pytest.mark.parametrize(("method", "body"), [("GET", b""), ("POST", b"a body")])
async def test_a_request_the_client_left_is_cancelled_and_leaves_no_aborted_cycle(
    handler, method, body
):
    sent: list[dict] = []

    async def request() -> None:
        sent.extend(await _left(handler, method, body, "/slow/"))

    left = await _garbage_of(request())
    assert CANCELLED == [True]  # the view stopped when the client left
    assert sent == []  # and nothing was answered to nobody
    assert "RequestAborted" not in left, "Django's disconnect listener raised again"
    # The cancel crosses no async_to_sync (no middleware of the async chain is sync only),
    # whose main_wrap kept it in a cycle with its result future (asgiref 3.13): 239-250
    # objects a request, its frames and tracebacks among them. The request's own cycles
    # (~40 objects: its lazy user, its messages) are left to the collector here: a cancelled
    # async view may still have a thread of its own using the request.
    call_stack = ("frame", "traceback", "CancelledError", "Future", "Task")
    assert {name: n for name, n in left.items() if name in call_stack} == {}


@pytest.mark.parametrize(("method", "body"), [("GET", b""), ("POST", b"a body")])
async def test_a_sync_view_the_client_left_leaves_nothing_to_the_collector(handler, method, body):
    sent: list[dict] = []
    LOOP[:] = [asyncio.get_running_loop()]

    async def request() -> None:
        sent.extend(await _left(handler, method, body, "/slow-sync/"))

    left = await _garbage_of(request())
    assert sent == []
    # The sync chain is one hop to Django's thread and back, crossing no async_to_sync:
    # 270-307 objects a request before (the plain view's 5,000 aborted requests once made a
    # 1.27 s collection), then 38-41 (the request's own cycles), none now.
    assert left == Counter()


@pytest.mark.parametrize(
    ("where", "answer"),
    [("/fast/", b"answered False [] "), ("/fast-api/", b'{"answered":"False"}')],
)
async def test_an_answered_request_leaves_nothing_to_the_collector(handler, where, answer):
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(30)  # the client stays; the handler stops listening when done
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    async def request() -> None:
        await asyncio.wait_for(handler(asgi_http_scope("GET", where), receive, send), 10)

    left = await _garbage_of(request())
    assert sent[0]["status"] == 200
    assert sent[1]["body"].startswith(answer)
    # Every Django request is a cycle (its lazy user and auser are closures over it, its
    # messages and CSP nonce point back at it; a DRF view, its Request and its Response are
    # cycles of their own): one that waited in a burst reached the collector's oldest
    # generation and was freed by a full collection only, ~300,000 objects and 1.1 s after
    # the plain view's burst. The handler breaks them when the chain is done.
    assert left == Counter()
