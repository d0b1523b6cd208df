"""The body rules' table: every route it names exists (a renamed URL would lose its limit)."""

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver


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
