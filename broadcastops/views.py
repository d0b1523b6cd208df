"""Project-level views: health, metrics, the unknown-API catch-all."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from broadcastops.health import health_report


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    report = health_report()
    return JsonResponse(report, status=503 if report["failing"] else 200)


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    auth = request.headers.get("Authorization", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:], token):
        return True
    # Only addresses named explicitly: behind a reverse proxy on the same host every client
    # arrives from loopback, so loopback alone proves nothing.
    try:
        remote = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(remote == ipaddress.ip_address(ip) for ip in settings.METRICS_ALLOWED_IPS)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics for a scraper holding ``METRICS_TOKEN`` (or an address listed in
    ``METRICS_ALLOWED_IPS``); everyone else gets 401, without any work done."""
    if not _metrics_allowed(request):
        response = HttpResponse(
            "metrics: send Authorization: Bearer <METRICS_TOKEN>\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
