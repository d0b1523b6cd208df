"""Request bodies against the real web process (``broadcastops.webserver``, as ``make run``).

Each refusal here is checked by sending the headers alone: an answer that arrives while the
body was never sent was decided before the body was read.
"""

import contextlib
import json
import socket
import threading
import time
import uuid

import requests

from streaming.tests.conftest import clip_pad, clip_write, files_under

UPLOAD = "/api/live-monitoring/upload-video?camera_id=cam"
GIB = 1024**3


class Answer:
    """One HTTP answer read off a socket: status, headers (lower-case names), body."""

    def __init__(self, sock: socket.socket):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"the connection closed without an answer: {data!r}"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            name.lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        if self.headers.get("transfer-encoding") == "chunked":
            while not rest.endswith(b"0\r\n\r\n"):
                rest += sock.recv(65536)
            body = b""
            while True:
                size, _, rest = rest.partition(b"\r\n")
                if int(size, 16) == 0:
                    break
                body, rest = body + rest[: int(size, 16)], rest[int(size, 16) + 2 :]
            self.body = body
        else:
            while len(rest) < int(self.headers.get("content-length", 0)):
                rest += sock.recv(65536)
            self.body = rest

    def json(self) -> dict:
        return json.loads(self.body)


def _send(server, head: str, body: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    return sock


def _answer(server, head: str, body: bytes = b"") -> Answer:
    with _send(server, head, body) as sock:
        return Answer(sock)


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def _upload_head(server, length: int, extra: str = "") -> str:
    return (
        f"POST {UPLOAD} HTTP/1.1\nHost: 127.0.0.1:{server.port}\n{extra}"
        f"Content-Type: multipart/form-data; boundary=xx\nContent-Length: {length}\n"
    )


def test_a_body_over_the_routes_limit_is_answered_413_from_its_length_alone(server):
    with _send(server, _upload_head(server, 5 * GIB, f"{_token(server)}\n")) as sock:
        answer = Answer(sock)
        # Then the server closes the connection, without waiting for 5 GiB that never came.
        assert _closed_by_server(sock)

    assert answer.status == 413
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["code"] == "payload_too_large"
    assert "2.0 GiB" in body["message"]
    assert body["detail"]["limit_bytes"] >= 2 * GIB


def _token(server) -> str:
    return f"Authorization: Token {server.token}"


def test_an_anonymous_upload_is_answered_401_before_its_body_is_read(server):
    # Expect: 100-continue asks the server whether to send the body: it must not say yes.
    head = _upload_head(server, 100 * 1024**2, "Expect: 100-continue\n")

    answer = _answer(server, head)

    assert answer.status == 401
    assert answer.headers["www-authenticate"] == "Token"
    assert answer.json()["code"] == "not_authenticated"
    assert answer.headers["connection"] == "close"


def test_a_bad_token_or_an_expired_session_is_refused_before_the_body(server):
    bad_token = _answer(server, _upload_head(server, 10**6, "Authorization: Token nope\n"))
    expired = _answer(server, _upload_head(server, 10**6, "Cookie: sessionid=gone\n"))

    assert bad_token.status == 401 and bad_token.json()["code"] == "authentication_failed"
    assert expired.status == 401 and expired.json()["code"] == "not_authenticated"


def test_an_anonymous_admin_post_is_redirected_to_the_login_before_its_body(server):
    head = (
        f"POST /admin/streaming/streamsession/ HTTP/1.1\nHost: 127.0.0.1:{server.port}\n"
        "Content-Type: application/x-www-form-urlencoded\nContent-Length: 1000000\n"
    )

    answer = _answer(server, head)

    assert answer.status == 302
    assert answer.headers["location"].startswith("/admin/login/?next=")


def test_routes_open_to_anonymous_callers_still_read_their_bodies(server):
    token = requests.post(
        f"{server.url}/api/v1/auth/token/",
        json={"username": "op", "password": "op-password-1"},
        timeout=10,
    )
    too_big = requests.post(f"{server.url}/api/v1/auth/token/", data=b"x" * 20_000, timeout=10)

    assert token.status_code == 200 and token.json()["token"] == server.token
    # Signing in takes a small body only.
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"


def test_an_oversized_json_body_under_api_is_a_json_413(server):
    answer = _answer(
        server,
        f"POST /api/v1/channels/x/start HTTP/1.1\nHost: 127.0.0.1\n{_token(server)}\n"
        "Content-Type: application/json\nContent-Length: 3000000\n",
    )

    assert answer.status == 413
    assert answer.json()["code"] == "payload_too_large"
    assert answer.json()["detail"] == {"limit_bytes": 2_621_440}


def test_a_refusal_speaks_the_callers_language(server):
    answer = _answer(
        server,
        "POST /api/v1/channels/x/start HTTP/1.1\nHost: 127.0.0.1\nAccept-Language: ko\n"
        "Content-Type: application/json\nContent-Length: 3000000\n",
    )

    assert answer.status == 413
    assert answer.json()["message"].startswith("요청 본문이 이 주소에서 받을 수 있는")


def test_a_chunked_body_is_cut_off_at_the_limit_with_a_json_413(server):
    chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"  # 1 MiB chunks, 3 of them: over 2.5 MiB
    answer = _answer(
        server,
        f"POST /api/v1/channels/x/start HTTP/1.1\nHost: 127.0.0.1\n{_token(server)}\n"
        "Content-Type: application/json\nTransfer-Encoding: chunked\n",
        chunk * 3 + b"0\r\n\r\n",
    )

    assert answer.status == 413
    assert answer.json()["code"] == "payload_too_large"


def test_form_data_over_djangos_memory_limit_in_an_upload_is_a_json_413(server):
    boundary = "yy"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'.encode()
        + b"n" * 3_000_000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = requests.post(
        f"{server.url}{UPLOAD}",
        data=body,
        headers={
            **server.auth,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        timeout=30,
    )

    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "payload_too_large"


def test_a_20_kb_url_is_answered_with_a_json_414(server):
    answer = _answer(server, f"GET /api/v1/{'a' * 20_000} HTTP/1.1\nHost: 127.0.0.1\n")

    assert answer.status == 414
    assert answer.json()["code"] == "uri_too_long"
    assert answer.json()["detail"] == {"limit_bytes": 16384}


def test_a_header_section_over_16_kb_is_answered_with_a_json_431(server):
    answer = _answer(server, f"GET /api/v1/me/ HTTP/1.1\nHost: 127.0.0.1\nX-Big: {'b' * 17_000}\n")

    assert answer.status == 431
    assert answer.json()["code"] == "headers_too_large"


def test_an_unread_body_is_never_parsed_as_the_next_request(server):
    # What follows a refused request's headers is its body, whatever it looks like.
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 50

    with _send(server, _upload_head(server, len(smuggled))) as sock:
        assert Answer(sock).status == 401
        with contextlib.suppress(OSError):
            sock.sendall(smuggled)
        # The server has closed its side after the answer: nothing more comes.
        assert sock.recv(65536) == b""


def test_a_streamed_upload_keeps_the_web_process_small_and_others_answered(server, tmp_path):
    clip = clip_pad(
        clip_write(tmp_path / "long.avi", frames=30, fourcc="MJPG"), size_bytes=96 * 1024**2
    )
    # Warm the upload path (imports, OpenCV) so the peak below is the body's alone.
    small = clip_write(tmp_path / "warm.avi", frames=10, fourcc="MJPG")
    with small.open("rb") as handle:
        warm = requests.post(
            f"{server.url}{UPLOAD}", files={"video": handle}, headers=server.auth, timeout=60
        )
    assert warm.status_code == 201, warm.text
    answered = []
    done = threading.Event()

    def others():
        while not done.is_set():
            started = time.monotonic()
            response = requests.get(f"{server.url}/healthz", timeout=30)
            answered.append((response.status_code, time.monotonic() - started))
            done.wait(0.05)

    poller = threading.Thread(target=others)
    server.rss_peak_reset()
    before = server.rss_mb()
    poller.start()
    try:
        with clip.open("rb") as handle:
            response = requests.post(
                f"{server.url}{UPLOAD}", files={"video": handle}, headers=server.auth, timeout=120
            )
    finally:
        done.set()
        poller.join()

    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == clip.stat().st_size
    growth = server.rss_peak_mb() - before
    # The body went through in chunks; buffered whole it would take ~100 MB and more.
    assert growth < 40, f"the web process grew by {growth:.0f} MB"
    assert answered and all(status in (200, 503) for status, _ in answered)
    assert files_under(server.data_dir / "streaming" / "incoming") == []


def test_a_session_upload_with_its_csrf_token_goes_through(server, tmp_path):
    clip = clip_write(tmp_path / "session.avi", frames=10, fourcc="MJPG")
    csrf = uuid.uuid4().hex  # a 32-character token, as Django's cookie holds

    with clip.open("rb") as handle:
        response = requests.post(
            f"{server.url}{UPLOAD}",
            files={"video": handle},
            cookies={"sessionid": server.session_key, "csrftoken": csrf},
            headers={"X-CSRFToken": csrf},
            timeout=60,
        )

    assert response.status_code == 201, response.text


def test_a_connection_that_carried_an_upload_serves_the_next_requests(server, tmp_path):
    # Large enough to be read in many socket reads, resumed by the upload as it reads on.
    clip = clip_pad(clip_write(tmp_path / "keep.avi", frames=10, fourcc="MJPG"), size_bytes=8 << 20)

    with requests.Session() as session:  # one kept-alive connection
        session.headers.update(server.auth)
        with clip.open("rb") as handle:
            uploaded = session.post(f"{server.url}{UPLOAD}", files={"video": handle}, timeout=60)
        started = session.post(
            f"{server.url}/api/v1/live-monitoring/cameras/keep/start",
            json={"upload_id": uploaded.json()["upload_id"]},
            timeout=10,
        )
        stopped = session.post(f"{server.url}/api/v1/live-monitoring/cameras/keep/stop", timeout=10)

    assert uploaded.status_code == 201
    assert started.status_code == 201, started.text
    assert stopped.status_code == 200, stopped.text
