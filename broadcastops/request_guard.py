"""What a request may send, decided from its headers before its body is read.

Django's ``ASGIHandler`` reads the whole body (into a temporary file) before any middleware or
view runs, so the route's size limit, the login it needs and CSRF all used to come after the
body. ``GuardedASGIHandler`` is Django's handler with these decisions in front of it, for every
request that has a body:

1. **The route's limit**: ``REQUEST_BODY_MAX_BYTES``, or the route's own in
   ``REQUEST_BODY_ROUTES`` (settings; keyed by URL name, or by path for a route that has no
   name yet). A ``Content-Length`` over it is answered 413 at once; a chunked body is counted
   and cut off at the limit with the same 413.
2. **The login the route needs**: a DRF view (or ViewSet action) whose permissions refuse an
   anonymous caller, or an admin page. The caller is authenticated from the headers alone (the
   session cookie, or ``Authorization: Token``); an anonymous one gets the 401 that DRF would
   give (the admin: its login redirect), and one whom the view's permissions refuse DRF's 403,
   before a byte of the body is read. A view whose permissions or authentication need the body
   itself (a signature over it) decides later, as before, within its route's limit.
3. **Streamed routes** (``"stream": True``: the video upload, a multipart body only) skip the
   temporary file: the body goes from the socket to the view's upload handler, in the view's
   thread, as the handler asks for it.

A path an app serves itself (``registry.HTTP_ENDPOINTS``: the player error reports) skips
steps 2 and 3 and Django's handler: its body limit is looked up by path and enforced the
same way, then the app's ASGI callable gets the request.

Every refusal carries the CORS headers ``corsheaders`` would have added (an allowed Origin),
so that a page on another origin (a player) can read why it was refused: these answers never
pass through the middleware.

With ``broadcastops.webserver`` (the web process) the body is not read from the socket at all
until step 3, or Django, asks for it. Under another ASGI server the same rules hold, but that
server may have buffered the body already.
"""

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.handlers.base import BaseHandler
from django.db import close_old_connections, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, ResolverMatch, resolve, reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)
from rest_framework.request import Request
from rest_framework.views import APIView

from broadcastops import registry
from broadcastops.rest import error_body

logger = logging.getLogger(__name__)

# The ASGI types as django-stubs spells them for ASGIHandler.
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Admin pages an anonymous caller may post to.
_ADMIN_OPEN = {"login"}


@dataclass(frozen=True)
class BodyRule:
    """What one route takes: at most ``max_bytes``; ``stream``: read by the view chunk by chunk."""

    max_bytes: int
    stream: bool = False
    message: str = ""  # dotted path of a function giving the 413's message

    def refusal_message(self) -> str:
        if self.message:
            return import_string(self.message)()
        return gettext("The request body is larger than the %(limit)s this address accepts.") % {
            "limit": filesizeformat(self.max_bytes)
        }


def body_rule(request: HttpRequest, match: ResolverMatch | None) -> BodyRule:
    routes = settings.REQUEST_BODY_ROUTES
    row = (match is not None and routes.get(match.view_name)) or routes.get(request.path_info)
    if not row:
        return BodyRule(max_bytes=settings.REQUEST_BODY_MAX_BYTES)
    stream = row.get("stream", False)
    if stream and request.content_type != "multipart/form-data":
        # Only an upload handler reads a body chunk by chunk; anything else keeps the default.
        return BodyRule(max_bytes=settings.REQUEST_BODY_MAX_BYTES)
    return BodyRule(
        max_bytes=int(row["max_bytes"]), stream=bool(stream), message=str(row.get("message", ""))
    )


def body_too_large(rule: BodyRule) -> JsonResponse:
    body = error_body("payload_too_large", rule.refusal_message(), {"limit_bytes": rule.max_bytes})
    return JsonResponse(body, status=413, json_dumps_params={"ensure_ascii": False})


class BodyNotRead(Exception):
    """Something asked for the body while the request was judged by its headers."""


class _HeadersOnly(io.RawIOBase):
    def read(self, size: int | None = -1) -> bytes:
        raise BodyNotRead()


def path_rule(path: str) -> BodyRule:
    """The limit of a route known by its path only (an app's own endpoint)."""
    row = settings.REQUEST_BODY_ROUTES.get(path)
    if not row:
        return BodyRule(max_bytes=settings.REQUEST_BODY_MAX_BYTES)
    return BodyRule(max_bytes=int(row["max_bytes"]), message=str(row.get("message", "")))


def scope_language(scope: Scope) -> str:
    """The caller's language, as Django's locale middleware would find it."""
    return translation.get_language_from_request(ASGIRequest(scope, _HeadersOnly()))  # type: ignore[arg-type]


def with_cors(scope: Scope, response: HttpResponse) -> HttpResponse:
    """``response`` with the CORS headers corsheaders gives an answer to this request."""
    request = ASGIRequest(scope, _HeadersOnly())  # type: ignore[arg-type]
    CorsMiddleware(lambda request: response).add_response_headers(request, response)
    return response


def _with_session_user(request: HttpRequest) -> HttpRequest:
    """The user of the request's session cookie (AnonymousUser if none), as Django finds it."""
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    request.user = get_user(request)
    return request


def _drf_view(match: ResolverMatch, request: HttpRequest) -> APIView | None:
    """The DRF view (an APIView or a ViewSet's action) the request is for, set up as DRF does."""
    func = match.func
    view_class = getattr(func, "cls", None)  # what DRF's as_view() leaves, ViewSets' too
    if view_class is None or not issubclass(view_class, APIView):
        return None
    view = view_class(**getattr(func, "initkwargs", {}))
    actions = getattr(func, "actions", None)
    if actions:
        view.action_map = actions
        view.action = actions.get((request.method or "").lower())
    view.args, view.kwargs, view.format_kwarg = match.args, match.kwargs, None
    return view


def _refusing_permission(view: APIView, drf_request: Request) -> Any:
    """The first of the view's permissions that refuses the request's user, or None."""
    refusing = (p for p in view.get_permissions() if not p.has_permission(drf_request, view))
    return next(refusing, None)


def _header_user(
    authenticators: list[BaseAuthentication], request: HttpRequest, drf_request: Request
) -> Any:
    """The caller as the view's authenticators find them from the headers; None if anonymous.

    Raises AuthenticationFailed for a token that is wrong, as DRF does.
    """
    for authenticator in authenticators:
        if isinstance(authenticator, TokenAuthentication):
            found = authenticator.authenticate(drf_request)
            if found is not None:
                return found[0]
        elif (user := _with_session_user(request).user).is_active:
            return user
    return None


def _drf_refusal(view: APIView, request: HttpRequest) -> HttpResponse | None:
    """DRF's own answer to a caller this view refuses (401, 403), or None to let the body in."""
    # No authenticators: its user is anonymous until set. The view's parsers, so that a
    # permission that reads the body reaches _HeadersOnly.
    drf_request = Request(request, parsers=view.get_parsers())
    view.request = drf_request
    authenticators = view.get_authenticators()
    exc: exceptions.APIException
    try:
        if _refusing_permission(view, drf_request) is None:
            return None  # open to anonymous callers
        if not authenticators or not all(
            isinstance(a, SessionAuthentication | TokenAuthentication) for a in authenticators
        ):
            return None  # an authentication we cannot run from the headers alone
        try:
            user = _header_user(authenticators, request, drf_request)
        except exceptions.AuthenticationFailed as failed:
            exc = failed
        else:
            if user is None:
                exc = exceptions.NotAuthenticated()
            else:
                drf_request.user = user
                refusing = _refusing_permission(view, drf_request)
                if refusing is None:
                    return None
                # A Viewer's upload, say: DRF's 403, before the body rather than after it.
                exc = exceptions.PermissionDenied(
                    detail=getattr(refusing, "message", None), code=getattr(refusing, "code", None)
                )
    except (BodyNotRead, exceptions.APIException):
        return None  # a permission needs the body, or answers itself: it decides later
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # What APIView.handle_exception does: 401 with the first authenticator's challenge,
        # or 403 when it has none.
        auth_header = view.get_authenticate_header(drf_request)
        if auth_header:
            exc.auth_header = auth_header  # type: ignore[union-attr]
        else:
            exc.status_code = 403
    response = view.get_exception_handler()(exc, {"view": view, "request": drf_request})
    refusal = JsonResponse(
        response.data, status=response.status_code, json_dumps_params={"ensure_ascii": False}
    )
    for name, value in response.items():
        if name.lower() == "www-authenticate":
            refusal[name] = value
    return refusal


def login_refusal(request: HttpRequest, match: ResolverMatch | None) -> HttpResponse | None:
    """The answer to a caller the route refuses (not signed in, or without the role), else None."""
    if match is None:
        return None
    view = _drf_view(match, request)
    if view is not None:
        try:
            return _drf_refusal(view, request)
        finally:
            # Thrown away: a DRF Request is a cycle (its parser_context holds it).
            drf_request = view.__dict__.get("request")
            if drf_request is not None:
                drf_request.__dict__.clear()
            view.__dict__.clear()
    if match.app_name == "admin" and match.url_name not in _ADMIN_OPEN:
        if admin.site.has_permission(_with_session_user(request)):
            return None
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    return None


def _declared_length(scope: Scope) -> tuple[int | None, bool]:
    """(Content-Length or None, whether a body may follow)."""
    length, chunked = None, False
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked or bool(length)


def body_judge(scope: Scope, length: int | None) -> tuple[BodyRule, str, HttpResponse | None]:
    """The route's rule, the caller's language and the refusal if refused (run in a thread)."""
    request = ASGIRequest(scope, _HeadersOnly())  # type: ignore[arg-type]
    language = translation.get_language_from_request(request)
    try:
        with translation.override(language):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            rule = body_rule(request, match)
            if length is not None and length > rule.max_bytes:
                logger.info(
                    "Refused a body path=%s length=%s limit=%s",
                    request.path,
                    length,
                    rule.max_bytes,
                )
                return rule, language, body_too_large(rule)
            refusal = login_refusal(request, match)
            if refusal is not None:
                logger.info("Refused an anonymous body path=%s length=%s", request.path, length)
            return rule, language, refusal
    finally:
        request.__dict__.clear()  # thrown away: its session user is a cycle


class GuardedBody:
    """The request's ``receive`` for Django: counted against the route's limit.

    A body over the limit (chunked, so without a length to refuse it by) is answered 413 here;
    the application then sees a disconnect and anything it sends is dropped. For a streamed
    route, ``StreamedBody`` reads it from the view's thread while Django's handler waits for a
    disconnect (``disconnected``) instead of calling ``receive`` itself.
    """

    def __init__(
        self,
        receive: Receive,
        send: Send,
        *,
        rule: BodyRule,
        language: str | Callable[[], str],
        refuse: Callable[[HttpResponse, Send], Awaitable[None]],
    ):
        self._receive = receive
        self._language = language
        self._send = send
        self._refuse = refuse
        self.rule = rule
        self._received = 0
        self._complete = False
        self._gone = False
        self._changed = asyncio.Event()
        self._answered = False  # the guard sent its own answer
        self._started = False  # the application started one

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self.rule.max_bytes:
                logger.info("Cut off a chunked body past limit=%s", self.rule.max_bytes)
                if not self._started:
                    self._answered = True
                    language = self._language() if callable(self._language) else self._language
                    with translation.override(language):
                        refusal = body_too_large(self.rule)
                    await self._refuse(refusal, self._send)
                message = {"type": "http.disconnect"}
            elif not message.get("more_body", False):
                self._complete = True
        if message["type"] == "http.disconnect":
            self._gone = True
        self._changed.set()
        return message

    async def send(self, message: Message) -> None:
        if self._answered:
            return
        self._started = True
        await self._send(message)

    async def next_chunk(self) -> bytes:
        """The next part of a streamed body, b"" at its end."""
        if self._complete:
            return b""
        message = await self()
        if message["type"] == "http.disconnect":
            raise OSError("the connection closed before the whole request body came")
        return message.get("body", b"")

    async def disconnected(self) -> None:
        while not (self._complete or self._gone):
            self._changed.clear()
            await self._changed.wait()
        if not self._gone:
            # The body is all read: only a disconnect can come now.
            while (await self())["type"] != "http.disconnect":
                pass


class StreamedBody(io.RawIOBase):
    """A streamed request's body as the file Django reads, pulled from the event loop.

    Read from the view's thread (``async_to_sync`` runs each pull on the event loop); a read
    returns at most what one pull brought, as a socket does.
    """

    def __init__(self, body: GuardedBody):
        self._next_chunk = async_to_sync(body.next_chunk)
        self._chunk = b""
        self._offset = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def _pull(self) -> bool:
        """Make the current chunk non-empty; False at the end of the body."""
        while self._offset >= len(self._chunk):
            if self._eof:
                return False
            self._chunk, self._offset = self._next_chunk(), 0
            self._eof = not self._chunk
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while self._pull():
                parts.append(self._chunk[self._offset :])
                self._offset = len(self._chunk)
            return b"".join(parts)
        if size == 0 or not self._pull():
            return b""
        data = self._chunk[self._offset : self._offset + size]
        self._offset += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _cycles_break(request: HttpRequest, response: HttpResponseBase) -> None:
    """Break the reference cycles every Django request is, once the middleware returned.

    The request's lazy user and ``auser`` are closures over it, its message storage and CSP
    nonce point back at it; a class-based view (every DRF view) is a cycle of its own
    (``View.setup`` sets ``self.head = self.get``) holding the request and the response, and so
    are DRF's ``Request`` (its ``parser_context``) and a rendered DRF ``Response`` (its
    ``renderer_context``). Reference counting alone never frees them, and a request that lived
    long (queued in a burst) is in the collector's oldest generation by then, freed by a full
    collection only: after the plain view's burst one such collection freed ~300,000 objects
    and stopped the event loop 1.1 s. What comes after the chain (sending the response, closing
    it) needs only the uploaded files, which ``request.close`` closes; a streaming response's
    content may still read the request while it is sent, so that one is left to the collector.
    """
    if response.streaming:
        return
    # DRF's renderer_context (which, rendered, holds the response too), a generic view's
    # context_data: the view is found there.
    context = response.__dict__.pop("renderer_context", None)
    if context is None:
        context = getattr(response, "context_data", None)
    if isinstance(context, dict):
        for part in (context.get("view"), context.get("request")):  # DRF's Request: a cycle too
            if part is not None and part is not request:
                part.__dict__.clear()
    files = request.__dict__.get("_files")
    request.__dict__.clear()
    if files is not None:
        request._files = files  # type: ignore[attr-defined]  # closed with the response


_SYNC_POOL: list[ThreadPoolExecutor] = []


def _sync_pool() -> ThreadPoolExecutor:
    """The web process's threads for sync work, made once (WEB_SYNC_THREADS)."""
    if not _SYNC_POOL:
        _SYNC_POOL.append(
            ThreadPoolExecutor(max_workers=settings.WEB_SYNC_THREADS, thread_name_prefix="web-sync")
        )
    return _SYNC_POOL[0]


def _connections_checked(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` between the connection checks of Django's ``request_started`` and
    ``request_finished``, in the thread whose connections they are (as under WSGI): Django's
    ASGI handler sends both signals from the request's own thread, not from this one."""
    close_old_connections()
    try:
        return func(*args)
    finally:
        close_old_connections()


async def in_sync_pool(func: Callable[..., Any], *args: Any) -> Any:
    """Run ``func(*args)`` on one of the web process's kept threads.

    Django's ASGI handler gives every request a thread of its own (``ThreadSensitiveContext``):
    each request opened a database connection there (~1.7 ms with SQLite), and a connection
    kept (``CONN_MAX_AGE``) stayed open, unused, until the collector freed the thread's
    ``DatabaseWrapper`` (a reference cycle), with SQLite's page cache. After the benchmark's
    plain view's burst, 1,938 such connections waited in the garbage.
    """
    return await sync_to_async(
        partial(_connections_checked, func), thread_sensitive=False, executor=_sync_pool()
    )(*args)


class _SyncChain(BaseHandler):
    """The middleware chain built for sync views: run whole in one thread."""

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)

    def response(self, request: HttpRequest) -> HttpResponseBase:
        # In the view's thread to the end, even when the client left and the handler
        # stopped waiting: the request is cleared when the view and the chain are done with it.
        response = self.get_response(request)
        _cycles_break(request, response)
        return response

    def response_own_thread(self, request: HttpRequest) -> HttpResponseBase:
        """``response`` in a thread used for this request only: its connections close after."""
        try:
            return self.response(request)
        finally:
            connections.close_all()


def _view_is_async(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False  # a static file (WhiteNoise) or Django's 404 page: sync either way
    return iscoroutinefunction(match.func)


class GuardedASGIHandler(ASGIHandler):
    """Django's ASGI handler, judging each body by the request's headers first.

    A sync view's request runs the whole middleware chain and the view in one hop to one of
    the process's kept threads (``_SyncChain``, ``in_sync_pool``), as under WSGI, where its
    database connection is reused. Django's own ASGI path builds the
    chain for the event loop: each ``MiddlewareMixin`` hook is its own hop to that thread, and
    a sync-only middleware makes the request cross back with ``async_to_sync``, whose
    ``main_wrap`` keeps a cancelled request in a reference cycle (asgiref 3.13): every request
    a client gave up waited in memory for a full garbage collection. Async views (the live
    monitoring's streams) keep Django's chain, in which no middleware is sync-only.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sync_chain = _SyncChain()

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        if not _view_is_async(request):
            if isinstance(getattr(request, "_stream", None), StreamedBody):
                # A streamed upload holds its thread as long as the body takes to arrive:
                # the request's own thread, so that slow uploads never take the kept ones.
                return await sync_to_async(self._sync_chain.response_own_thread)(request)
            return await in_sync_pool(self._sync_chain.response, request)
        # Cancelled (the client left), the view may still use the request in a thread of its
        # own (a database call): then the collector frees it.
        response = await super().get_response_async(request)
        _cycles_break(request, response)
        return response

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        length, has_body = _declared_length(scope)
        endpoint = registry.HTTP_ENDPOINTS.get(scope.get("path", ""))
        if endpoint is not None:
            await self._endpoint(endpoint, scope, receive, send, length, has_body)
            return
        if not has_body:
            await super().handle(scope, receive, send)
            return
        rule, language, refusal = await in_sync_pool(body_judge, scope, length)
        refuse = partial(self._refuse, scope)
        if refusal is not None:
            await refuse(refusal, send)
            return
        body = GuardedBody(receive, send, rule=rule, language=language, refuse=refuse)
        await super().handle(scope, body, body.send)

    async def _endpoint(
        self,
        endpoint: Callable[[Scope, Receive, Send], Awaitable[None]],
        scope: Scope,
        receive: Receive,
        send: Send,
        length: int | None,
        has_body: bool,
    ) -> None:
        """An app's own endpoint, behind its path's body limit (no thread, no middleware)."""
        if not has_body:
            await endpoint(scope, receive, send)
            return
        rule = path_rule(scope["path"])
        refuse = partial(self._refuse, scope)
        if length is not None and length > rule.max_bytes:
            logger.info("Refused a body path=%s length=%s", scope["path"], length)
            with translation.override(scope_language(scope)):
                await refuse(body_too_large(rule), send)
            return
        language = partial(scope_language, scope)
        body = GuardedBody(receive, send, rule=rule, language=language, refuse=refuse)
        await endpoint(scope, body, body.send)

    async def _refuse(self, scope: Scope, response: HttpResponse, send: Send) -> None:
        # These answers skip the middleware: the CORS headers a player on another origin
        # needs to read them are added here.
        with_cors(scope, response)
        response["Content-Length"] = str(len(response.content))
        await self.send_response(response, send)

    async def read_body(self, receive: Receive) -> Any:
        if isinstance(receive, GuardedBody) and receive.rule.stream:
            return StreamedBody(receive)
        return await super().read_body(receive)

    async def listen_for_disconnect(self, receive: Receive) -> None:
        """Return when the client goes away; ``handle`` then cancels the view.

        Django raises ``RequestAborted`` here, and ``handle`` re-raises it from this task
        into its own frame, which holds the task: a reference cycle (Django ticket #36700)
        that kept each aborted request, its body and everything it reached until a full
        garbage collection. After the benchmark's plain view had ~5,000 requests aborted,
        that collection freed 378,508 objects and paused the event loop 1.27 s. To Django
        5.2's ``handle`` a listener that returns is the same as one that raises (it waits
        for the first of the two tasks to finish, and cancels the other);
        test_request_abort.py holds it to that.
        """
        if isinstance(receive, GuardedBody) and receive.rule.stream:
            await receive.disconnected()
            return
        message = await receive()
        if message["type"] != "http.disconnect":
            raise AssertionError(f"Invalid ASGI message after request body: {message['type']}")
