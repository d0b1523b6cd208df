"""Sync views run on the web process's kept threads, and keep their database connection.

Django's ASGI handler gives every request a thread of its own (``ThreadSensitiveContext``):
each request opened a database connection (~1.7 ms with SQLite), and a kept one
(``CONN_MAX_AGE``) stayed open until the collector freed the dead thread's ``DatabaseWrapper``
(a reference cycle): 1,938 of them, with their SQLite page caches, in the garbage after the
benchmark's plain view's burst. ``GuardedASGIHandler`` runs sync views on
``WEB_SYNC_THREADS`` kept threads, with Django's connection checks of ``request_started``
and ``request_finished`` in the thread that owns the connection.
"""

import asyncio
import threading
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops import request_guard
from broadcastops.request_guard import GuardedASGIHandler
from broadcastops.tests.helpers import asgi_http_scope, garbage_left

THREADS: list[str] = []


@csrf_exempt
def users(request):
    THREADS.append(threading.current_thread().name)
    return HttpResponse(str(User.objects.count()))


class Users(APIView):
    """A report-like upload: a body, anonymous, answered from the database."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def post(self, request):
        return Response({"body": request.body.decode(), "users": User.objects.count()}, 202)


urlpatterns = [path("users/", users), path("users-api/", Users.as_view())]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def handler(settings):
    settings.ROOT_URLCONF = __name__
    THREADS.clear()
    return GuardedASGIHandler()


@pytest.fixture
def fresh_threads(monkeypatch):
    """A pool of the test's own, so that no thread holds a connection from another test."""
    monkeypatch.setattr(request_guard, "_SYNC_POOL", [])
    yield
    for pool in request_guard._SYNC_POOL:
        for _ in range(pool._max_workers):
            pool.submit(connections.close_all)
        pool.shutdown(wait=True)


@pytest.fixture
def opened():
    """The database connections opened meanwhile, in any thread."""
    seen: list[int] = []

    def count(sender, connection, **kwargs):
        seen.append(threading.get_ident())

    connection_created.connect(count)
    yield seen
    connection_created.disconnect(count)


async def _answer(handler, method: str, where: str, body: bytes = b"") -> list[dict]:
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(30)  # the client stays
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await asyncio.wait_for(handler(asgi_http_scope(method, where, body), receive, send), 10)
    return sent


def _max_age(monkeypatch, seconds: int | None) -> None:
    # What a connection opened from now on is kept for (read when it connects).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", seconds)


async def test_requests_one_after_another_share_one_kept_connection(
    handler, fresh_threads, opened, monkeypatch
):
    _max_age(monkeypatch, None)  # SQLite's setting in the embedded mode
    for _ in range(10):
        sent = await _answer(handler, "GET", "/users/")
        assert sent[0]["status"] == 200
    # Before: one new thread and one new connection per request, 10 of each.
    assert len(opened) == 1
    assert len(set(THREADS)) == 1
    assert THREADS[0].startswith("web-sync")


async def test_with_no_kept_connections_each_request_closes_its_own(
    handler, fresh_threads, opened, monkeypatch
):
    _max_age(monkeypatch, 0)  # PostgreSQL's default in the scaled mode
    for _ in range(3):
        sent = await _answer(handler, "GET", "/users/")
        assert sent[0]["status"] == 200
    # request_finished's check ran in the thread that opened it: closed after every request,
    # so the kept thread holds no idle connection (PostgreSQL counts them).
    assert len(opened) == 3
    assert len(set(THREADS)) == 1


async def test_the_threads_are_bounded_by_the_setting(handler, settings, fresh_threads):
    settings.WEB_SYNC_THREADS = 2
    answers = await asyncio.gather(*(_answer(handler, "GET", "/users/") for _ in range(12)))
    assert [sent[0]["status"] for sent in answers] == [200] * 12
    assert len(set(THREADS)) <= 2


async def test_an_upload_with_a_body_leaves_nothing_to_the_collector(handler, fresh_threads):
    # Warm: the kept thread's connection is opened once, by the first request.
    await _answer(handler, "POST", "/users-api/", b"first")
    with garbage_left() as left:
        sent = await _answer(handler, "POST", "/users-api/", b"a report")
        await asyncio.sleep(0)
    assert sent[0]["status"] == 202
    assert b'"body":"a report"' in sent[1]["body"]
    # The guard judged the body by its headers on a throwaway request and DRF view (a DRF
    # Request is a cycle: ~3,400 of them after the plain burst); the view's thread had a new
    # DatabaseWrapper (a cycle of ~12 objects with the SQLite connection) per request.
    assert left == Counter()
