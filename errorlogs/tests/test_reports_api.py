"""The report POST and the latest-N API, through Django's handler (the view that writes
inline; the web process's own endpoint has the same rules: test_web_process.py)."""

import json

import pytest

from errorlogs.models import ErrorGroup, ErrorReport, ErrorType
from errorlogs.tests.conftest import lines, report

URL = "/api/v1/error-logs/mediamtx"
LATEST = "/api/v1/error-logs/mediamtx/latest"


def post(client, body, content_type="application/json", **headers):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(URL, data=data, content_type=content_type, **headers)


@pytest.mark.django_db
def test_the_frontends_report_is_kept_as_a_row_and_a_line(api_client, errorlogs_state):
    sent = report()
    response = post(api_client, sent)
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 1}
    row = ErrorReport.objects.get()
    assert (row.stream_id, row.error_type, row.status_code) == (
        "stream-001",
        "whep_post_failed",
        502,
    )
    assert row.whep_host == "192.168.0.10:8889"
    assert row.browser_name == "Chrome" and row.screen_resolution == "1920x1080"
    assert row.client_address == "127.0.0.0"  # truncated to /24 by default
    [line] = lines(errorlogs_state)
    for key in (
        "timestamp",
        "streamId",
        "errorType",
        "errorMessage",
        "statusCode",
        "whepUrl",
        "userAgent",
        "clientInfo",
    ):
        assert line[key] == sent[key]
    assert line["reportId"] == sent["reportId"] and line["receivedAt"].endswith("Z")
    group = ErrorGroup.objects.get()
    assert (group.report_count, group.client_count) == (1, 1)


@pytest.mark.django_db
def test_an_array_is_kept_whole_and_a_sent_again_report_once(api_client, errorlogs_state):
    batch = [report(streamId=f"s{i}", clientId=f"viewer-{i % 3}") for i in range(10)]
    assert post(api_client, batch).json() == {"accepted": 10}
    assert post(api_client, batch[:4]).status_code == 202  # the answer was lost: sent again
    assert ErrorReport.objects.count() == 10
    assert len(lines(errorlogs_state)) == 10


@pytest.mark.django_db
def test_an_unknown_error_type_is_kept_as_unknown_with_the_original(api_client, errorlogs_state):
    assert post(api_client, report(errorType="ice_timeout")).status_code == 202
    row = ErrorReport.objects.get()
    assert (row.error_type, row.error_type_sent) == (ErrorType.UNKNOWN, "ice_timeout")
    assert lines(errorlogs_state)[0]["errorTypeSent"] == "ice_timeout"


@pytest.mark.django_db
def test_groups_count_reports_and_distinct_viewers(api_client):
    for viewer in ("a", "b", "a", "c"):
        assert post(api_client, report(clientId=viewer)).status_code == 202
    post(api_client, report(statusCode=404))
    groups = {g.status_code: (g.report_count, g.client_count) for g in ErrorGroup.objects.all()}
    assert groups == {502: (4, 3), 404: (1, 1)}


BAD = [
    ("not json", b'{"timestamp": ', "application/json", 400, "invalid_report"),
    ("not utf-8", b'{"streamId": "\xff\xfe"}', "application/json", 400, "invalid_report"),
    ("deep", b"[" * 5000 + b"]" * 5000, "application/json", 400, "invalid_report"),
    ("a string", b'"hello"', "application/json", 400, "invalid_report"),
    ("empty array", b"[]", "application/json", 400, "invalid_report"),
    ("empty body", b"", "application/json", 400, "invalid_report"),
    ("form", b"a=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "body", "content_type", "status", "code"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_bodies_are_refused_clearly_and_nothing_is_kept(
    api_client, errorlogs_state, name, body, content_type, status, code
):
    response = post(api_client, body, content_type=content_type)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code and response.json()["message"]
    assert not ErrorReport.objects.exists() and not lines(errorlogs_state)


FIELDS = [
    ({"streamId": ...}, "streamId"),
    ({"streamId": ""}, "streamId"),
    ({"streamId": 7}, "streamId"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": "0001-01-01T00:00:00+05:00"}, "timestamp"),
    ({"statusCode": True}, "statusCode"),
    ({"statusCode": 502.5}, "statusCode"),
    ({"statusCode": 10000}, "statusCode"),
    ({"errorMessage": "x" * 2001}, "errorMessage"),
    ({"errorMessage": "nul\u0000byte"}, "errorMessage"),
    ({"errorMessage": "lone \ud800 surrogate"}, "errorMessage"),
    ({"whepUrl": None}, "whepUrl"),
    ({"clientInfo": "Chrome"}, "clientInfo"),
    ({"clientInfo": {"os": ["Linux"]}}, "clientInfo"),
    ({"reportId": "not-a-uuid"}, "reportId"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "field"), FIELDS)
def test_a_bad_field_names_itself_and_fails_the_whole_array(api_client, changes, field):
    body = json.dumps([report(), report(**changes)]).encode()
    response = post(api_client, body)
    assert response.status_code == 400
    assert list(response.json()["detail"]) == ["1"]
    assert field in response.json()["detail"]["1"]
    assert not ErrorReport.objects.exists()


@pytest.mark.django_db
def test_too_many_reports_in_one_request_are_refused(api_client, settings):
    settings.ERRORLOGS_MAX_REPORTS_PER_REQUEST = 3
    response = post(api_client, [report() for _ in range(4)])
    assert response.status_code == 400 and response.json()["detail"] == {"limit": 3}


@pytest.mark.django_db
def test_a_page_of_a_foreign_origin_is_refused_a_listed_one_accepted(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://players.example:3000"]
    refused = post(api_client, report(), HTTP_ORIGIN="http://evil.example")
    assert refused.status_code == 403 and refused.json()["code"] == "origin_not_allowed"
    accepted = post(api_client, report(), HTTP_ORIGIN="http://players.example:3000")
    assert accepted.status_code == 202
    assert accepted["Access-Control-Allow-Origin"] == "http://players.example:3000"
    assert ErrorReport.objects.count() == 1


@pytest.mark.django_db
def test_past_the_throttle_429_with_retry_after(api_client, settings):
    settings.ERRORLOGS_THROTTLE_PER_S = 1
    settings.ERRORLOGS_THROTTLE_BURST = 3
    statuses = [post(api_client, report()).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    refused = post(api_client, report())
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["detail"]["retry_after_s"] == int(refused["Retry-After"])
    assert ErrorReport.objects.count() == 3


@pytest.mark.django_db
def test_what_is_kept_of_the_client_is_a_setting(api_client, settings, errorlogs_state):
    settings.ERRORLOGS_CLIENT_DETAILS = ["browser"]
    post(api_client, report())
    row = ErrorReport.objects.get()
    assert (row.user_agent, row.screen_resolution, row.client_address) == ("", "", "")
    assert row.browser_name == "Chrome"
    assert lines(errorlogs_state)[0]["userAgent"] == ""
    settings.ERRORLOGS_CLIENT_DETAILS = ["address"]
    settings.ERRORLOGS_ADDRESS_PREFIX_V4 = 32
    post(api_client, report())
    assert ErrorReport.objects.order_by("-id")[0].client_address == "127.0.0.1"


@pytest.mark.django_db
def test_a_whep_urls_credentials_and_query_values_are_masked(api_client):
    post(api_client, report(whepUrl="http://user:secret@mtx.example:8889/cam/whep?token=abc&x=1"))
    row = ErrorReport.objects.get()
    assert row.whep_url == "http://mtx.example:8889/cam/whep?token=****&x=****"
    assert "secret" not in row.whep_url and row.whep_host == "mtx.example:8889"


@pytest.mark.django_db
def test_latest_needs_a_viewer_and_lists_newest_first_with_filters(
    api_client, viewer_client, nobody, django_assert_max_num_queries
):
    for i in range(5):
        post(api_client, report(streamId=f"s{i % 2}", errorType="fetch_error" if i else "unknown"))
    assert api_client.get(LATEST).status_code in (401, 403)
    with django_assert_max_num_queries(3):  # the user, the role, the reports
        response = viewer_client.get(LATEST, {"limit": 50})
    results = response.json()["results"]
    assert len(results) == 5
    assert [r["receivedAt"] for r in results] == sorted(
        (r["receivedAt"] for r in results), reverse=True
    )
    assert {
        r["streamId"] for r in viewer_client.get(LATEST, {"streamId": "s1"}).json()["results"]
    } == {"s1"}
    assert len(viewer_client.get(LATEST, {"errorType": "unknown"}).json()["results"]) == 1
    assert len(viewer_client.get(LATEST, {"limit": 2}).json()["results"]) == 2
    assert viewer_client.get(LATEST, {"since": "2999-01-01T00:00:00Z"}).json()["results"] == []
    assert viewer_client.get(LATEST, {"limit": 1001}).status_code == 400
    assert viewer_client.get(LATEST, {"since": "soon"}).status_code == 400
    assert viewer_client.get(LATEST, {"errorType": "bogus"}).status_code == 400


@pytest.mark.django_db
def test_a_locked_database_answers_503_and_leaves_no_frames_to_the_collector(
    api_client, errorlogs_state, monkeypatch
):
    import logging

    from django.db import connection

    from broadcastops.tests.helpers import garbage_left

    def locked(**kwargs):
        # What a burst does to SQLite: the error comes through Django's DatabaseErrorWrapper,
        # whose __exit__ frame holds the error that holds the frame.
        with connection.wrap_database_errors:
            raise connection.Database.OperationalError("database is locked")

    monkeypatch.setattr("errorlogs.api.reports_store", locked)
    # pytest's log capture keeps each record, and with it the error: not for this test.
    monkeypatch.setattr(logging.getLogger("errorlogs.api"), "disabled", True)
    post(api_client, report())  # warm: the first request's one-off objects
    with garbage_left() as left:
        response = post(api_client, report())
    assert response.status_code == 503
    assert "send them again" in response.json()["message"]
    assert ErrorReport.objects.count() == 0 and lines(errorlogs_state) == []
    # Before: ~50 frames a refused request (the whole call stack, through f_back), kept until
    # a full collection; 961 such requests in the plain view's burst.
    assert left["frame"] == 0 and left["OperationalError"] == 0
