"""The simulator's control API answers tools on this machine only, and bad lengths get a 400."""

import json
import socket

import pytest
import requests

from broadcastops.cloud.simulator.server import serve_in_thread


@pytest.fixture
def sim():
    server = serve_in_thread({})
    yield server
    server.shutdown()
    server.server_close()


def _raw(server, request: bytes, timeout: float = 3.0) -> bytes:
    """Send ``request`` as is; the whole answer (the server must close or answer in time)."""
    with socket.create_connection(server.server_address[:2], timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or not _complete(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _control(server, headers: dict, body: bytes = b'{"ms": 5}'):
    return requests.post(f"{server.url}/_sim/latency", data=body, headers=headers, timeout=3)


def test_a_local_tool_drives_the_simulator(sim):
    assert _control(sim, {}).json() == {"ok": True, "ms": 5}
    assert requests.get(f"{sim.url}/_sim/requests", timeout=3).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example:9100"},  # DNS rebinding: the page's own name, our address
        {"Host": "127.0.0.1.evil.example"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:3000"},
    ],
    ids=["rebound-host", "lookalike-host", "foreign-origin", "null-origin", "other-port"],
)
def test_a_web_page_cannot_drive_the_simulator(sim, headers):
    refused = _control(sim, headers)
    assert refused.status_code == 403
    assert sim.sim.latency_ms == 0
    assert requests.get(f"{sim.url}/_sim/requests", headers=headers, timeout=3).status_code == 403


@pytest.mark.parametrize("length", [b"abc", b"-1", b"+5", b" 1_0", b"99999999999"])
def test_a_bad_content_length_is_a_400_not_a_hang_or_a_drop(sim, length):
    request = (
        b"POST /_sim/latency HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: " + length + b"\r\n\r\n{}"
    )
    answer = _raw(sim, request)
    status = int(answer.split(b" ", 2)[1])
    assert status == (413 if length == b"99999999999" else 400)
    assert "error" in json.loads(answer.partition(b"\r\n\r\n")[2])
    # The server is still there for the next client.
    assert _control(sim, {}).status_code == 200


def test_a_bad_since_is_a_400(sim):
    assert requests.get(f"{sim.url}/_sim/requests?since=abc", timeout=3).status_code == 400
