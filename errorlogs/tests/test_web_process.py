"""The report endpoint as the web process serves it (``errorlogs.endpoint`` in daphne):
CORS, limits, throttle, and what was answered 202 on disk, also across a SIGTERM."""

import asyncio
import http.client
import json
import signal
import sqlite3
import time
import uuid

import pytest
import requests

from benchmarks.errorlogs_load import Connection, closed_loop, source_address
from broadcastops.tests.daphne_server import daphne_prepare
from errorlogs.tests.conftest import report

URL = "/api/v1/error-logs/mediamtx"
PLAYERS = "http://players.example:3000"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    data = tmp_path_factory.mktemp("errorlogs-web")
    server = daphne_prepare(
        data,
        CORS_ALLOWED_ORIGINS=PLAYERS,
        ERRORLOGS_THROTTLE_PER_S="1",
        ERRORLOGS_THROTTLE_BURST="1000",
    )
    server.start()
    yield server
    server.stop()


def stored_ids(server) -> set[str]:
    with sqlite3.connect(server.data_dir / "broadcastops.sqlite3") as db:
        return {
            str(uuid.UUID(r[0])) for r in db.execute("SELECT report_id FROM errorlogs_errorreport")
        }


def line_ids(server) -> list[str]:
    ids = []
    for path in (server.data_dir / "logs" / "mediamtx_errors").glob("*.jsonl"):
        ids += [json.loads(line)["reportId"] for line in path.read_text().splitlines()]
    return ids


def test_reports_are_accepted_with_cors_for_a_listed_origin(web):
    sent = [report(), [report(), report()]]
    for body in sent:
        response = requests.post(web.url + URL, json=body, headers={"Origin": PLAYERS}, timeout=10)
        assert response.status_code == 202, response.text
        assert response.headers["Access-Control-Allow-Origin"] == PLAYERS
        assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Request-ID"]
    ids = {sent[0]["reportId"], sent[1][0]["reportId"], sent[1][1]["reportId"]}
    assert ids <= stored_ids(web) and ids <= set(line_ids(web))
    # sendBeacon posts text/plain: accepted the same.
    beacon = report()
    response = requests.post(
        web.url + URL,
        data=json.dumps(beacon),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
        timeout=10,
    )
    assert response.status_code == 202 and beacon["reportId"] in stored_ids(web)


def test_preflight_foreign_origins_and_methods(web):
    preflight = requests.options(
        web.url + URL,
        headers={
            "Origin": PLAYERS,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"]
    foreign = requests.post(
        web.url + URL, json=report(), headers={"Origin": "http://evil.example"}, timeout=10
    )
    assert foreign.status_code == 403 and foreign.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert requests.get(web.url + URL, timeout=10).status_code == 405


def test_a_body_over_the_limit_is_refused_unread_and_readable_cross_origin(web):
    big = json.dumps([report(errorMessage="x" * 1500) for _ in range(60)])
    assert len(big) > 64 * 1024
    response = requests.post(
        web.url + URL,
        data=big,
        headers={"Origin": PLAYERS, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert response.headers["Access-Control-Allow-Origin"] == PLAYERS

    def chunks():
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192].encode()

    chunked = requests.post(
        web.url + URL,
        data=chunks(),
        headers={"Origin": PLAYERS, "Content-Type": "application/json"},
        timeout=10,
    )
    assert chunked.status_code == 413
    assert chunked.headers["Access-Control-Allow-Origin"] == PLAYERS


def test_a_bad_body_gets_a_clear_error_in_the_callers_language(web):
    response = requests.post(
        web.url + URL,
        data=b"{not json",
        headers={"Content-Type": "application/json", "Accept-Language": "ko"},
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_report"
    english = requests.post(
        web.url + URL, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.json()["message"] != english.json()["message"]


def _both_ways(web, body: bytes, headers: dict) -> list[requests.Response]:
    """The same POST with its length (the web process's lean path) and chunked (a body of
    unknown length: daphne, the request guard and the ASGI endpoint)."""

    def chunks():
        yield body

    return [
        requests.post(web.url + URL, data=data, headers=headers, timeout=10)
        for data in (body, chunks())
    ]


def test_the_web_process_takes_report_posts_the_lean_way():
    from broadcastops import registry
    from errorlogs.apps import REPORTS_PATH
    from errorlogs.endpoint import report_endpoint, report_lean

    assert registry.HTTP_LEAN_ENDPOINTS.get(REPORTS_PATH) is report_lean
    assert registry.HTTP_ENDPOINTS.get(REPORTS_PATH) is report_endpoint  # the rest of it


def test_the_lean_path_refuses_exactly_as_the_asgi_path(web):
    good = json.dumps(report()).encode()
    half_bad = [report(), report(), report(statusCode="five hundred")]
    cases = [
        (b"{not json", {"Content-Type": "application/json", "Accept-Language": "ko"}, 400),
        (b'{"streamId": 5}', {"Content-Type": "application/json"}, 400),
        ("\u00e9".encode("latin-1"), {"Content-Type": "application/json"}, 400),
        (json.dumps(half_bad).encode(), {"Content-Type": "application/json"}, 400),
        (good, {"Content-Type": "application/json", "Origin": "http://evil.example"}, 403),
        (good, {"Content-Type": "application/xml", "Origin": PLAYERS}, 415),
    ]
    for body, headers, status in cases:
        lean, chunked = _both_ways(web, body, headers)
        assert lean.status_code == chunked.status_code == status, (body, lean.text)
        assert lean.json() == chunked.json() and lean.json()["message"]
        for name in ("Access-Control-Allow-Origin", "Vary", "Content-Type", "Cache-Control"):
            assert lean.headers.get(name) == chunked.headers.get(name), name
    # Nothing of the array with one bad report was kept, either way.
    assert not {r["reportId"] for r in half_bad} & stored_ids(web)
    assert not {r["reportId"] for r in half_bad} & set(line_ids(web))
    # And both ways keep a good report, with the same answer.
    first, second = report(), report()
    answers = [
        requests.post(
            web.url + URL, data=data, headers={"Content-Type": "application/json"}, timeout=10
        )
        for data in (json.dumps(first).encode(), iter([json.dumps(second).encode()]))
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json() == {"accepted": 1}
    assert {first["reportId"], second["reportId"]} <= stored_ids(web)


def test_past_the_throttle_429_with_retry_after(web):
    # The module's web process (a burst of 1,000 requests per address, then 1 a second), from
    # an address of its own (127.0.1.77) on 100 connections at once: a process of its own
    # cost this test about 10 s of startup, and one request after the other about 16 ms each
    # (each waits for its batch).
    body = json.dumps(report()).encode()

    async def flood() -> list[int]:
        conns = [Connection("127.0.0.1", web.port, 76, URL, PLAYERS) for _ in range(100)]
        statuses: list[int] = []

        async def send(conn: Connection) -> None:
            for _ in range(11):  # bounded: 1,100 requests in all
                statuses.append(await conn.post(body, 10))

        try:
            await asyncio.gather(*(send(conn) for conn in conns))
        finally:
            for conn in conns:
                conn.close()
        return statuses

    started = time.monotonic()
    statuses = asyncio.run(flood())
    refilled = int(time.monotonic() - started) + 1
    assert set(statuses) == {202, 429}
    assert 1_000 <= statuses.count(202) <= 1_000 + refilled
    conn = http.client.HTTPConnection(
        "127.0.0.1", web.port, timeout=10, source_address=(source_address(76), 0)
    )
    try:
        conn.request("POST", URL, body=body, headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        answer.read()
    finally:
        conn.close()
    assert answer.status == 429
    assert int(answer.headers["Retry-After"]) >= 1


def test_sigterm_mid_burst_everything_answered_202_is_on_disk(tmp_path):
    server = daphne_prepare(tmp_path / "data")
    server.start()

    async def burst():
        stop = asyncio.Event()
        task = asyncio.create_task(
            closed_loop(
                host="127.0.0.1",
                port=server.port,
                path=URL,
                origin=server.url,
                clients=100,
                reports=20_000,
                per_request=1,
                timeout_s=15,
                stop=stop,
            )
        )
        await asyncio.sleep(1.5)
        server.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        stop.set()
        return await task

    result = asyncio.run(burst())
    server.process.wait(30)
    accepted = result.accepted_ids
    assert len(accepted) > 100, result.statuses
    assert len(accepted) < 20_000, "the burst was over before the SIGTERM"
    stored, lines = stored_ids(server), line_ids(server)
    assert accepted <= stored, f"{len(accepted - stored)} answered 202 but not in the table"
    assert accepted <= set(lines), "answered 202 but not in the file"
    assert len(lines) == len(set(lines)) == len(stored), "a line without its row, or twice"
    # What was not answered goes again (the reporter retries): kept once.
    server.start()
    try:
        missing = sorted(result.sent_ids - accepted)[:50]
        again = [dict(report(), reportId=i) for i in missing]
        assert requests.post(server.url + URL, json=again, timeout=10).status_code == 202
        assert set(missing) <= stored_ids(server)
        assert len(line_ids(server)) == len(stored_ids(server))
    finally:
        server.stop()
