"""The statistics page and the demo player through Django: who may see them, what they show."""

import json

import pytest
from django.test import Client as BrowserClient
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
