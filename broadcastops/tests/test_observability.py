import json
import logging

import pytest

from broadcastops.logs import JsonFormatter, RequestIdFilter, request_id_var

pytestmark = pytest.mark.django_db


def test_metrics_are_served_with_the_token_and_count_requests(client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    client.get("/api/v1/me/")
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert "django_http_requests_latency_seconds_by_view_method" in text


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3"])
def test_metrics_refuse_any_address_without_the_token(client, settings, address):
    settings.METRICS_TOKEN = "scrape-me"
    # Loopback too: behind a reverse proxy on the same host, that is every client.
    refused = client.get("/metrics", REMOTE_ADDR=address)
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", REMOTE_ADDR=address, HTTP_AUTHORIZATION="Bearer wrong")
    assert wrong.status_code == 401
    assert b"django_http" not in refused.content + wrong.content


def test_metrics_without_a_token_configured_answer_nobody(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_an_explicit_address_list_opens_metrics_to_those_addresses(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.9.8.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401


def test_every_response_carries_a_request_id_and_keeps_a_sane_incoming_one(client):
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234")["X-Request-ID"] == "lb-1234"
    hostile = client.get("/healthz", HTTP_X_REQUEST_ID="a b\nc")["X-Request-ID"]
    assert hostile != "a b\nc" and len(hostile) == 32


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord(
        "broadcastops.x", logging.WARNING, __file__, 1, "channel %s down", ("ch-1",), None
    )
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42"
    assert line["message"] == "channel ch-1 down" and line["level"] == "WARNING"


def test_request_logs_include_the_request_id(client, caplog):
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-77")
    assert response.status_code == 404
    not_found = [r for r in caplog.records if "Not Found" in r.getMessage()]
    assert not_found and not_found[0].request_id == "trace-77"
