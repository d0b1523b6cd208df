"""Pages of player errors: the statistics (Viewers) and the demo WHEP player (Viewers)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext

from broadcastops.accounts.roles import Role, user_has_role
from errorlogs import charts, selectors
from errorlogs.mediamtx import configured_servers
from errorlogs.models import ErrorType

HOURS = (1, 3, 6, 24)


def _forbidden(request: HttpRequest) -> HttpResponse | None:
    if user_has_role(request.user, Role.VIEWER):
        return None
    return render(
        request, "errorlogs/forbidden.html", {"title": gettext("Player errors")}, status=403
    )


@login_required
def statistics_page(request: HttpRequest) -> HttpResponse:
    refused = _forbidden(request)
    if refused is not None:
        return refused
    try:
        hours = int(request.GET.get("hours", "1"))
    except ValueError:
        hours = 1
    hours = hours if hours in HOURS else 1
    stats = selectors.statistics_get(hours=hours)
    type_labels = {str(value): str(label) for value, label in ErrorType.choices}
    type_labels[selectors.OTHER] = gettext("other")
    stream_labels = {selectors.OTHER: gettext("other streams")}
    return render(
        request,
        "errorlogs/statistics.html",
        {
            "title": gettext("Player errors"),
            "stats": stats,
            "hours": hours,
            "hour_choices": HOURS,
            "bucket_minutes": stats.by_type.bucket_s // 60,
            "type_chart": charts.stacked_bars(
                stats.by_type, title=gettext("Reports by error type"), labels=type_labels
            ),
            "type_legend": charts.legend(stats.by_type, labels=type_labels),
            "stream_chart": charts.stacked_bars(
                stats.by_stream, title=gettext("Reports by stream"), labels=stream_labels
            ),
            "stream_legend": charts.legend(stats.by_stream, labels=stream_labels),
        },
    )


@login_required
def demo_player_page(request: HttpRequest) -> HttpResponse:
    refused = _forbidden(request)
    if refused is not None:
        return refused
    servers = configured_servers()
    example = servers[0].whep_endpoint(servers[0].paths[0]) if servers and servers[0].paths else ""
    response = render(
        request,
        "errorlogs/demo_player.html",
        {
            "title": gettext("Demo player"),
            "endpoint": reverse("errorlogs:report-create"),
            "whep_url": request.GET.get("whep", example)[:2000],
            "stream_id": request.GET.get("stream", "stitched")[:200],
            "retry_base_ms": settings.ERRORLOGS_REPORTER_RETRY_BASE_MS,
            "retry_max_ms": settings.ERRORLOGS_REPORTER_RETRY_MAX_MS,
        },
    )
    # The player pulls WHEP from the configured MediaMTX servers only (never an origin taken
    # from the request): the Content-Security-Policy's connect-src gains their origins.
    origins = sorted({_origin(s.whep_url) for s in servers if _origin(s.whep_url)})
    if origins:
        response._csp_update = {"connect-src": origins}  # type: ignore[attr-defined]
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""
