"""Fuzzing the report POST (hypothesis): whatever the body and headers, never a 500, a refusal
in the one error shape, and nothing half-kept: the table and the day's file agree after every
request, and a refused request adds to neither.

Twice: through Django (``errorlogs.api``, where a bug would show as a traceback) and against the
web process's own endpoint (``errorlogs.endpoint`` in daphne, what players reach).
"""

import json
import sqlite3
import string

import pytest
import requests
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcastops.tests.daphne_server import daphne_prepare
from errorlogs.models import ErrorReport
from errorlogs.tests.conftest import REPORT, lines, report

URL = "/api/v1/error-logs/mediamtx"
FIELDS = [*REPORT, "reportId", "clientId"]
INFO_FIELDS = list(REPORT["clientInfo"])

text = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "\x00", "fetch_error", "2026-01-08T12:34:56Z", "x" * 70_000]
)
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | text
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | text, inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated_report(draw):
    """The frontend's report with some fields dropped or replaced by anything."""
    body = report()
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            body.pop(name, None)
        else:
            body[name] = draw(json_values)
    if isinstance(body.get("clientInfo"), dict) and draw(st.booleans()):
        body["clientInfo"][draw(st.sampled_from(INFO_FIELDS))] = draw(json_values)
    return body


def encoded(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    st.builds(encoded, mutated_report()),
    st.builds(encoded, st.lists(mutated_report(), min_size=1, max_size=3)),
    st.builds(encoded, json_values),
    st.binary(max_size=200),
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(1, 3000)),
    st.builds(lambda n: b'{"a":' * n + b"1" + b"}" * n, st.integers(1, 3000)),
    st.builds(lambda raw: encoded(report())[:-2] + raw, st.binary(max_size=8)),
)
content_types = st.sampled_from(
    [
        "application/json",
        "text/plain;charset=UTF-8",
        "application/json; charset=latin-1",
        "text/plain; charset=utf-16",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ]
) | st.text(string.printable, max_size=30)
languages = st.sampled_from(["", "ko", "zh-Hant", "en", "*", "ko;q=x"]) | st.text(
    string.printable, max_size=20
)
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_answer(status: int, body: bytes) -> None:
    assert status < 500, body[:500]
    answer = json.loads(body)
    if status == 202:
        assert answer["accepted"] >= 1
    else:
        assert set(answer) == {"code", "message", "detail"} and answer["message"], answer


@pytest.mark.django_db
@EXAMPLES
@given(body=bodies, content_type=content_types, language=languages)
def test_through_django_never_500_and_nothing_half_kept(
    errorlogs_state, body, content_type, language
):
    rows_before, lines_before = ErrorReport.objects.count(), len(lines(errorlogs_state))
    response = Client().generic(  # the bytes as they are, whatever the content type says
        "POST", URL, data=body, content_type=content_type, HTTP_ACCEPT_LANGUAGE=language
    )
    assert_answer(response.status_code, response.content)
    rows, kept_lines = ErrorReport.objects.count(), len(lines(errorlogs_state))
    assert rows - rows_before == kept_lines - lines_before
    if response.status_code != 202:
        assert rows == rows_before


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    server = daphne_prepare(
        tmp_path_factory.mktemp("errorlogs-fuzz"),
        ERRORLOGS_THROTTLE_PER_S="0",  # the throttle off: every example reaches the parser
        ERRORLOGS_FSYNC="false",
    )
    server.start()
    yield server
    server.stop()


def table_and_file(server) -> tuple[int, int]:
    with sqlite3.connect(server.data_dir / "broadcastops.sqlite3") as db:
        rows = db.execute("SELECT count(*) FROM errorlogs_errorreport").fetchone()[0]
    count = 0
    for path in (server.data_dir / "logs" / "mediamtx_errors").glob("*.jsonl"):
        count += len(path.read_bytes().splitlines())
    return rows, count


@EXAMPLES
@given(body=bodies, content_type=content_types, language=languages, origin=languages)
def test_the_web_process_never_500_and_nothing_half_kept(web, body, content_type, language, origin):
    before = table_and_file(web)
    headers = {"Content-Type": content_type, "Accept-Language": language}
    if origin:
        headers["Origin"] = origin
    try:
        response = requests.post(web.url + URL, data=body, headers=headers, timeout=10)
    except requests.exceptions.InvalidHeader:
        return  # requests itself refuses the header (a newline in it): nothing was sent
    assert_answer(response.status_code, response.content)
    after = table_and_file(web)
    assert after[0] - before[0] == after[1] - before[1]
    if response.status_code != 202:
        assert after == before
