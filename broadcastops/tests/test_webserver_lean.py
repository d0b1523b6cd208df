"""The web process's lean path (``registry.HTTP_LEAN_ENDPOINTS``): which requests take it, what
the endpoint gets, and how the answer goes out. The reports endpoint through it, end to end,
is in ``errorlogs/tests/test_web_process.py``."""

import json
import os
import subprocess
import sys

import pytest

from broadcastops.tests.daphne_server import BASE_DIR

# In a process of its own: importing the web server installs Twisted's asyncio reactor. The
# server's HTTP factory over Twisted's in-memory transport, with a recording ASGI application
# behind it and a lean endpoint registered for /lean/.
_CODE = r"""
import asyncio, json
import django
django.setup()
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from broadcastops import registry
from broadcastops.asgi_types import Answer
from broadcastops.webserver import BodyStreamingFactory, BodyStreamingServer, _with_backlog

loop = asyncio.get_event_loop()
seen = {"asgi": [], "lean": [], "bodies": []}

async def application(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen["asgi"].append([scope["method"], scope["path"], len(body)])
    headers = [(b"content-length", b"4")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"asgi"})

def endpoint(request):
    seen["lean"].append([request.method, request.path, request.client, request.header(b"origin")])
    if request.header(b"x-refuse"):
        return Answer(429, [(b"content-length", b"7"), (b"retry-after", b"3")], b"refused")
    if request.header(b"x-raise"):
        def broken(body, reply):
            raise RuntimeError("the endpoint broke")
        return broken
    def on_body(body, reply):
        seen["bodies"].append(body.decode())
        answer = Answer(202, [(b"content-length", b"%d" % len(body))], body)
        loop.call_soon(reply, answer)  # answered later, as the writer does
    return on_body

registry.HTTP_LEAN_ENDPOINTS.register(endpoint, key="/lean/")
# Never listens: the factory is driven by hand.
server = BodyStreamingServer(application=application, endpoints=["tcp:port=0"])
server.connections = {}  # what run() sets up
factory = BodyStreamingFactory(server)

def connection():
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.9", 5000))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.9", 5000))
    protocol.makeConnection(transport)
    return protocol, transport

def feed(protocol, data):
    # Into the protocol from inside the running loop, as the reactor does; then let it run.
    async def received():
        protocol.dataReceived(data)
        await asyncio.sleep(0.1)
    loop.run_until_complete(received())

def post(body, *, extra=b"", length=True):
    head = b"POST /lean/ HTTP/1.1\r\nHost: t\r\nOrigin: http://players.example\r\n" + extra
    if length:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    return head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)

out = {}
# Two requests on one connection, the first body in two reads.
protocol, transport = connection()
first = post(b'{"a": 1}')
feed(protocol, first[:-4])
out["before_body_end"] = transport.value().decode()
feed(protocol, first[-4:])
feed(protocol, post(b'{"b": 2}'))
out["keep_alive"] = transport.value().decode()
out["open_after"] = not transport.disconnecting
# Refused at its headers, the body still coming.
protocol, transport = connection()
refused = post(b"x" * 100, extra=b"X-Refuse: 1\r\n")
feed(protocol, refused[:-50])
out["refused"] = transport.value().decode()
feed(protocol, refused[-50:] + post(b'{"f": 6}'))  # never read as a next request
out["refused_then"] = transport.value().decode()
# Refused at its headers, the body already all there: the connection goes on.
protocol, transport = connection()
feed(protocol, post(b"x" * 10, extra=b"X-Refuse: 1\r\n"))
feed(protocol, post(b'{"c": 3}'))
out["refused_whole"] = transport.value().decode()
# Chunked, over the limit, an Expect header, a GET: daphne's way, to the application.
for name, data in [
    ("chunked", post(b'{"d": 4}', length=False)),
    ("over_limit", post(b"y" * 2000)),
    ("expect", post(b'{"e": 5}', extra=b"Expect: 100-continue\r\n")),
    ("get", b"GET /lean/ HTTP/1.1\r\nHost: t\r\n\r\n"),
]:
    protocol, transport = connection()
    feed(protocol, data)
    out[name] = transport.value().decode()
# The endpoint failing: a 500 in the console's shape, not a hang.
protocol, transport = connection()
feed(protocol, post(b"{}", extra=b"X-Raise: 1\r\n"))
out["raised"] = transport.value().decode()
out["seen"] = seen
out["backlog"] = [
    _with_backlog(e) for e in ("tcp:port=8000:interface=127.0.0.1", "tcp:port=1:backlog=5", "fd:3")
]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> dict:
    """What the subprocess saw (one process, ~3 s of Django set-up, for all the tests)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="broadcastops.settings")
    env["BROADCASTOPS_DATA_DIR"] = str(tmp_path_factory.mktemp("lean"))
    env["REQUEST_BODY_MAX_BYTES"] = "1000"
    result = subprocess.run(
        [sys.executable, "-c", _CODE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_lean_requests_get_their_whole_body_and_an_answer_on_a_kept_connection(out):
    assert out["before_body_end"] == ""  # nothing is answered before the body is whole
    answers = out["keep_alive"].split("HTTP/1.1 ")[1:]
    assert [a.split()[0] for a in answers] == ["202", "202"]
    assert answers[0].endswith('\r\n\r\n{"a": 1}') and answers[1].endswith('\r\n\r\n{"b": 2}')
    assert "connection: close" not in out["keep_alive"].lower()
    assert out["open_after"]
    seen = out["seen"]
    assert seen["bodies"][:2] == ['{"a": 1}', '{"b": 2}']
    assert seen["lean"][0] == ["POST", "/lean/", "127.0.0.9", "http://players.example"]


def test_a_refusal_at_the_headers_skips_the_body_and_closes_only_if_it_is_unread(out):
    assert out["refused"].startswith("HTTP/1.1 429 ")
    assert "retry-after: 3" in out["refused"].lower()
    assert "connection: close" in out["refused"].lower()
    assert out["refused_then"] == out["refused"]
    assert out["refused"].endswith("refused")
    # The whole body was in: the same connection serves the next request.
    assert out["refused_whole"].count("HTTP/1.1 429 ") == 1
    assert out["refused_whole"].count("HTTP/1.1 202 ") == 1
    assert "x" * 10 not in out["seen"]["bodies"]


def test_what_the_lean_path_does_not_take_goes_to_the_application(out):
    for name in ("chunked", "over_limit", "expect", "get"):
        assert out[name].startswith("HTTP/1.1 200 ") and out[name].endswith("asgi"), name
    assert out["seen"]["asgi"] == [
        ["POST", "/lean/", 8],
        ["POST", "/lean/", 2000],
        ["POST", "/lean/", 8],
        ["GET", "/lean/", 0],
    ]
    # Only the POSTs with a length within the limit and no Expect reached the endpoint.
    assert len(out["seen"]["lean"]) == 6


def test_an_endpoint_that_raises_gets_a_json_500(out):
    assert out["raised"].startswith("HTTP/1.1 500 ")
    assert json.loads(out["raised"].split("\r\n\r\n", 1)[1])["code"] == "server_error"


def test_the_web_process_listens_with_a_backlog_for_a_crowd_reconnecting(out):
    # Twisted's default backlog of 50 reset some of 500 players reconnecting at once.
    assert out["backlog"] == [
        "tcp:port=8000:interface=127.0.0.1:backlog=1024",
        "tcp:port=1:backlog=5",
        "fd:3",
    ]
