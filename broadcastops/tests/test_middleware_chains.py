"""The web process's two middleware chains: a sync view's in one hop, an async view's on the loop.

``GuardedASGIHandler`` sends a request whose view is sync through a chain built for sync
(the whole chain and the view in Django's thread, one hop there and back) and one whose view is
async through Django's async chain. Neither may cross modes inside: that crossing is asgiref's
``async_to_sync``, whose cycle kept every aborted request for the collector.
"""

import asyncio
import logging
import threading

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from broadcastops.request_guard import GuardedASGIHandler

THREADS: dict[str, str] = {}


def sync_view(request):
    THREADS["sync"] = threading.current_thread().name
    return HttpResponse(f"sync {request.request_id}")


async def async_view(request):
    THREADS["async"] = threading.current_thread().name
    return HttpResponse(f"async {request.request_id}")


urlpatterns = [path("sync/", sync_view), path("async/", async_view)]


def test_neither_chain_adapts_a_middleware(caplog):
    # Django adapts (and logs, with DEBUG) every middleware that cannot run in its chain's
    # mode: a sync-only one added to MIDDLEWARE would bring the crossing back.
    with override_settings(DEBUG=True), caplog.at_level(logging.DEBUG, "django.request"):
        GuardedASGIHandler()
    adapted = [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()]
    assert adapted == []


async def _get(handler, where: str, headers=()) -> tuple[int, dict, bytes]:
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": where,
        "raw_path": where.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    await asyncio.wait_for(handler(scope, receive, send), 10)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


@pytest.fixture
def handler(settings):
    settings.ROOT_URLCONF = __name__
    THREADS.clear()
    return GuardedASGIHandler()


async def test_a_sync_view_runs_in_a_thread_and_an_async_view_on_the_loop(handler):
    sync = await _get(handler, "/sync/", [(b"x-request-id", b"lb-1")])
    answered = await _get(handler, "/async/", [(b"x-request-id", b"lb-2")])
    assert sync[0] == answered[0] == 200
    # The middleware ran in both chains: the request id in and out.
    assert (sync[1]["X-Request-ID"], sync[2]) == ("lb-1", b"sync lb-1")
    assert (answered[1]["X-Request-ID"], answered[2]) == ("lb-2", b"async lb-2")
    assert THREADS["async"] == threading.current_thread().name  # no hop at all
    assert THREADS["sync"] != threading.current_thread().name


async def test_an_unknown_path_and_a_static_file_take_the_sync_chain(handler, settings):
    settings.STATIC_URL = "static/"
    missing = await _get(handler, "/nowhere/")
    assert missing[0] == 404
    assert missing[1]["X-Request-ID"]  # through the middleware, as before
    static = await _get(handler, "/static/errorlogs/reporter.js")
    assert static[0] == 200
    assert b"sendBeacon" in static[2]
