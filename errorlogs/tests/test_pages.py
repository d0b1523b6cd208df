"""The statistics page and the demo player through Django: who may see them, what they show."""

import json

import pytest
from django.db import connection
from django.test import Client as BrowserClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from errorlogs import services
from errorlogs.tests.conftest import report
from errorlogs.types import Client
from errorlogs.validation import reports_parse

pytestmark = pytest.mark.django_db


def keep(*items):
    services.reports_store(
        reports=reports_parse(
            json.dumps(list(items)).encode(),
            content_type="application/json",
            client=Client(address="10.0.0.9"),
            received_at=timezone.now(),
        )
    )


def signed_in(user):
    browser = BrowserClient()
    browser.force_login(user)
    return browser


@pytest.mark.parametrize("path", ["/player-errors/", "/player-errors/demo-player/"])
def test_the_pages_need_a_signed_in_viewer(path, nobody, viewer):
    assert BrowserClient().get(path).status_code == 302
    assert signed_in(nobody).get(path).status_code == 403
    assert signed_in(viewer).get(path).status_code == 200


def test_the_statistics_draw_each_type_and_stream_and_list_the_groups(viewer):
    keep(
        report(streamId="cam-a", errorType="fetch_error", statusCode=None),
        report(streamId="cam-b", errorType="whep_post_failed", statusCode=502),
        report(streamId="cam-b", errorType="whep_post_failed", statusCode=502),
    )
    page = signed_in(viewer).get("/player-errors/", {"hours": "3"}, HTTP_ACCEPT_LANGUAGE="ko")
    html = page.content.decode()
    charts = html.split('id="el-chart-types"')[1].split('id="el-chart-streams"')
    assert charts[0].count("<rect ") == 2  # one bar per type in the last minute
    assert charts[1].split("</section>")[0].count("<rect ") == 2  # one per stream
    assert "cam-b (2)" in html and "502" in html and "Chrome" in html
    assert " style=" not in html and "<script>" not in html  # the CSP allows neither


def test_an_unknown_period_falls_back_to_one_hour(viewer):
    page = signed_in(viewer).get("/player-errors/", {"hours": "x"})
    assert page.status_code == 200 and page.context["hours"] == 1


def test_the_admin_report_list_filters_without_reading_every_report(viewer):
    keep(
        report(statusCode=502, whepUrl="http://mtx-a:8889/a/whep"),
        report(
            statusCode=None,
            whepUrl="http://mtx-b:8889/b/whep",
            clientInfo={"browserName": "Firefox"},
        ),
        report(statusCode=404, whepUrl="http://mtx-a:8889/c/whep"),
    )
    browser = signed_in(viewer)
    with CaptureQueriesContext(connection) as queries:
        page = browser.get("/admin/errorlogs/errorreport/")
    assert page.status_code == 200
    # Django's own filters ran SELECT DISTINCT over the whole reports table, for each field.
    scans = [
        q["sql"]
        for q in queries.captured_queries
        if "DISTINCT" in q["sql"]
        and 'FROM "errorlogs_errorreport"' in q["sql"]
        and "IN (SELECT" not in q["sql"]
    ]
    assert scans == []
    filters = {
        spec.title: [c["display"] for c in spec.choices(page.context["cl"])]
        for spec in page.context["cl"].filter_specs
    }
    assert filters["HTTP status"][1:] == ["404", "502", "-"]  # All, the codes, none
    assert filters["WHEP server"][1:] == ["mtx-a:8889", "mtx-b:8889"]
    assert filters["browser"][1:] == ["Chrome", "Firefox"]

    def shown(query):
        listed = browser.get("/admin/errorlogs/errorreport/", query)
        assert listed.status_code == 200
        return sorted((r.status_code, r.whep_host) for r in listed.context["cl"].result_list)

    assert shown({"status_code": "502"}) == [(502, "mtx-a:8889")]
    assert shown({"status_code__isnull": "True"}) == [(None, "mtx-b:8889")]
    assert shown({"whep_host": "mtx-a:8889"}) == [(404, "mtx-a:8889"), (502, "mtx-a:8889")]
    assert shown({"browser_name": "Firefox"}) == [(None, "mtx-b:8889")]
    # A value the field cannot hold is the admin's "incorrect lookup" answer, not a 500.
    assert browser.get("/admin/errorlogs/errorreport/", {"status_code": "abc"}).status_code == 302
