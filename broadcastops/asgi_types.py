"""ASGI's callables as the project's sockets use them (scopes and messages are plain dicts)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

Scope: TypeAlias = dict[str, Any]
Message: TypeAlias = dict[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]


# The web process's lean path for one busy route (``registry.HTTP_LEAN_ENDPOINTS``): no ASGI
# scope, no application task; the endpoint is called from Twisted's request itself.


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole answer: status, headers (lower-case names), body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True, slots=True)
class LeanRequest:
    """A request as the lean path hands it over once its headers are in."""

    method: str
    path: str
    scheme: str  # "http" or "https", as daphne would put it in the scope
    client: str  # the caller's address (the proxy header's, when daphne is told to trust one)
    header: Callable[[bytes], str]  # the first value of a header (lower-case name), "" if absent


# Called with the whole body and a reply callable, which it calls exactly once, at once or later.
LeanBody: TypeAlias = Callable[[bytes, Callable[[Answer], None]], None]
# Called at the request's headers: an Answer refuses it before its body, a LeanBody takes it.
LeanEndpoint: TypeAlias = Callable[[LeanRequest], Answer | LeanBody]
