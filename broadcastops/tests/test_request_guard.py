"""The body rules, judged from a request's headers: the table of limits, the login a route needs."""

import json

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path
from rest_framework import permissions, routers, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.request_guard import body_judge
from broadcastops.rest import IsOperator


def _url_names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def test_every_route_named_in_the_body_rules_exists():
    names = set(_url_names(get_resolver().url_patterns))
    named = [key for key in settings.REQUEST_BODY_ROUTES if not key.startswith("/")]

    assert named and [key for key in named if key not in names] == []


def test_streamed_routes_take_the_upload_limit_and_the_rest_a_small_one():
    routes = settings.REQUEST_BODY_ROUTES

    assert routes["streaming:legacy-upload"]["max_bytes"] > settings.STREAMING_UPLOAD_MAX_BYTES
    assert routes["streaming:upload-create"]["stream"] is True
    assert all(
        row["max_bytes"] <= settings.REQUEST_BODY_MAX_BYTES
        for row in routes.values()
        if not row.get("stream")
    )


# --- The login a route needs, decided from each DRF view's own classes ---------------------


class _BodySigned(permissions.BasePermission):
    """A permission that needs the body itself (as a signature check would)."""

    def has_permission(self, request, view):
        return request.data.get("signature") == "ok"


class _Open(APIView):
    permission_classes = [permissions.AllowAny]


class _Closed(APIView):
    permission_classes = [IsOperator]


class _Signed(APIView):
    authentication_classes: list = []
    permission_classes = [_BodySigned]


class _Things(viewsets.ViewSet):
    permission_classes = [permissions.IsAuthenticated]

    def create(self, request):
        return Response({})


_router = routers.SimpleRouter()
_router.register("things", _Things, basename="thing")
urlpatterns = [
    path("open", _Open.as_view()),
    path("closed", _Closed.as_view()),
    path("signed", _Signed.as_view()),
    path("", include(_router.urls)),
]


def _judged(route, *headers, length=10):
    scope = {
        "type": "http",
        "method": "POST",
        "path": route,
        "query_string": b"",
        "headers": [(b"content-length", str(length).encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    return body_judge(scope, length)[2]


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_view_open_to_anyone_or_needing_its_body_lets_the_body_in():
    assert _judged("/open") is None
    assert _judged("/signed", (b"content-type", b"application/json")) is None
    assert _judged("/signed") is None  # no parser for its body: the view answers, later


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_view_or_viewset_needing_a_login_refuses_an_anonymous_caller_as_drf_would():
    for route in ("/closed", "/things/"):
        refusal = _judged(route)
        assert refusal.status_code == 401, route
        assert refusal["WWW-Authenticate"] == "Token"
        assert json.loads(refusal.content)["code"] == "not_authenticated"


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_token_is_checked_from_the_headers(operator):
    token = Token.objects.create(user=operator).key

    assert _judged("/closed", (b"authorization", f"Token {token}".encode())) is None
    refused = _judged("/closed", (b"authorization", b"Token wrong"))
    assert json.loads(refused.content)["code"] == "authentication_failed"


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_length_over_the_limit_is_refused_before_the_login(settings):
    settings.REQUEST_BODY_MAX_BYTES = 100

    refusal = _judged("/open", length=101)

    assert refusal.status_code == 413
    assert json.loads(refusal.content)["detail"] == {"limit_bytes": 100}


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_signed_in_caller_without_the_role_gets_drfs_403_before_the_body(viewer, operator):
    viewer_token = Token.objects.create(user=viewer).key
    operator_token = Token.objects.create(user=operator).key

    refused = _judged("/closed", (b"authorization", f"Token {viewer_token}".encode()))

    assert refused.status_code == 403
    assert json.loads(refused.content)["code"] == "permission_denied"
    assert _judged("/closed", (b"authorization", f"Token {operator_token}".encode())) is None
