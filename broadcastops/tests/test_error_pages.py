"""Error pages: JSON under /api/, and never a secret, with DEBUG on or off."""

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django.urls import include, path

pytestmark = pytest.mark.django_db

WEBHOOK = "https://hooks.slack.com/services/T0SECRET/B0SECRET/webhooksecretvalue42"
REDIS = "redis://:redis-password-77@cache.internal:6379/0"
LAYER = "redis://:layer-password-55@layer.internal:6379/1"
DSN = "postgres://console:db-password-99@db.internal:5432/broadcastops"


@pytest.fixture
def debug_page(settings):
    settings.DEBUG = True
    settings.SLACK_WEBHOOK_URL = WEBHOOK
    settings.SLACK_SIGNING_SECRET = "signing-secret-0123456789"
    settings.REDIS_URL = REDIS
    settings.DATABASE_URL = DSN
    settings.CELERY_BROKER_URL = REDIS
    settings.CHANNEL_LAYERS = {"default": {"CONFIG": {"hosts": [{"address": LAYER}]}}}
    with override_settings(ROOT_URLCONF=__name__):
        # The environment of a WSGI server reaches request.META, and so the page.
        response = Client(raise_request_exception=False).get(
            "/boom", SLACK_WEBHOOK_URL=WEBHOOK, HTTP_AUTHORIZATION="Token 0123456789abcdef"
        )
    assert response.status_code == 500
    return response.content.decode()


def test_the_debug_page_names_secret_settings_but_shows_no_value(debug_page):
    assert "RuntimeError" in debug_page and "SLACK_WEBHOOK_URL" in debug_page
    for secret in (
        "webhooksecretvalue42",
        "signing-secret-0123456789",
        "redis-password-77",
        "layer-password-55",
        "db-password-99",
        "0123456789abcdef",
        django_settings.SECRET_KEY,
    ):
        assert secret not in debug_page, secret
    assert "********************" in debug_page


def test_the_debug_page_keeps_what_is_no_secret(debug_page):
    # The host of a URL with credentials, and settings that hold none, stay readable.
    assert "layer.internal:6379" in debug_page
    assert "Asia/Seoul" in debug_page


def test_unknown_api_urls_are_a_json_404_with_debug_on(client, settings):
    settings.DEBUG = True
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


# Far from the values above: the page shows the source lines around the failing one.
def boom(request):
    webhook = django_settings.SLACK_WEBHOOK_URL  # a local the debug page lists
    delivery_target = {"url": webhook}
    raise RuntimeError(f"delivery to {len(delivery_target)} target failed")


urlpatterns = [path("boom", boom), path("", include("broadcastops.urls"))]
