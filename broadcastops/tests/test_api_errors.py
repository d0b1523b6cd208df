import json

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.errors import Conflict, NotFound

pytestmark = pytest.mark.django_db


class EchoInput(serializers.Serializer):
    seconds = serializers.IntegerField(min_value=1)


class EchoApi(APIView):
    def post(self, request):
        data = EchoInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(data.validated_data)


class BusyApi(APIView):
    def post(self, request):
        raise Conflict("Channel ch-1 is being restarted by another operator.", detail={"id": 1})


class MissingApi(APIView):
    def get(self, request):
        raise NotFound("No channel named ch-9.")


urlpatterns = [
    path("api/v1/test/echo", EchoApi.as_view()),
    path("api/v1/test/busy", BusyApi.as_view()),
    path("api/v1/test/missing", MissingApi.as_view()),
]


def test_unknown_api_url_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "not_found" and "/api/v1/no-such-thing/" in body["message"]


def test_unknown_api_url_without_slash_suggests_the_slashed_one(client):
    body = client.get("/api/v1/me").json()
    assert body["detail"] == {"did_you_mean": "/api/v1/me/"}


def test_anonymous_api_call_is_401_json_not_a_login_redirect(client):
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "WWW-Authenticate" in response


@override_settings(ROOT_URLCONF=__name__)
def test_validation_errors_name_each_field(operator_client):
    response = operator_client.post("/api/v1/test/echo", {"seconds": 0}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "seconds" in body["detail"]


@override_settings(ROOT_URLCONF=__name__)
def test_application_errors_keep_their_status_code_and_detail(operator_client):
    response = operator_client.post("/api/v1/test/busy")
    assert response.status_code == 409
    assert response.json() == {
        "code": "conflict",
        "message": "Channel ch-1 is being restarted by another operator.",
        "detail": {"id": 1},
    }
    missing = operator_client.get("/api/v1/test/missing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@override_settings(ROOT_URLCONF=__name__)
def test_malformed_json_is_a_400_with_a_message(operator_client):
    response = operator_client.post(
        "/api/v1/test/echo", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_schema_and_docs_are_served_without_internet(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html


def test_cors_allows_only_the_configured_player_origin(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://player.example.test"]
    allowed = client.options(
        "/api/v1/me/",
        HTTP_ORIGIN="http://player.example.test",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert allowed["Access-Control-Allow-Origin"] == "http://player.example.test"
    other = client.options(
        "/api/v1/me/", HTTP_ORIGIN="http://evil.test", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in other


def test_anonymous_callers_are_throttled_with_the_error_body(client, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "100/min"})
    codes = [
        client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code
        for _ in range(3)
    ]
    assert codes == [400, 400, 429]
    body = client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).json()
    assert body["code"] == "throttled" and "available in" in body["message"]


def _token_body_judged(length: int):
    """What the web process's request guard answers a token request of ``length`` bytes."""
    from broadcastops.request_guard import body_judge

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/auth/token/",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % length)],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    return body_judge(scope, length)[2]


def test_deeply_nested_json_is_a_400_on_the_anonymous_token_endpoint(client):
    # Deep enough for the decoder's RecursionError, small enough for the sign-in limit: the
    # body is the parser's to judge (the size is the request guard's, the one place for it).
    deep = "[" * 10_000
    assert len(deep) < settings.REQUEST_BODY_SIGN_IN_MAX_BYTES
    assert _token_body_judged(len(deep)) is None
    response = client.post("/api/v1/auth/token/", data=deep, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parse_error" and "nested" in body["message"]


@pytest.mark.django_db
def test_a_nested_json_past_the_sign_in_limit_is_a_413_before_it_is_parsed():
    refusal = _token_body_judged(100_000)
    assert refusal is not None and refusal.status_code == 413
    assert json.loads(refusal.content)["code"] == "payload_too_large"


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize(
    ("depth", "code"),
    [(100_000, "parse_error"), (33, "parse_error"), (32, "invalid"), (2, "invalid")],
)
def test_json_nested_past_the_limit_is_refused_and_within_it_parsed(operator_client, depth, code):
    # {"seconds": [[...]]}: a list is no integer, so within the limit it is a field error.
    body = '{"seconds": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    response = operator_client.post("/api/v1/test/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == code
