"""Player error reports in the admin: read-only lists with filters (rows come from players,
the probe and the services only)."""

from django.contrib import admin

from broadcastops.actions.admin import ReadOnlyAdmin
from errorlogs.models import ErrorGroup, ErrorReport, Incident, ProbeResult


class _Lists(ReadOnlyAdmin):
    # The reports table grows by thousands a second in an outage: one COUNT per page, not two.
    show_full_result_count = False
    list_per_page = 100
    change_list_template = "admin/errorlogs/change_list.html"


@admin.register(ErrorReport)
class ErrorReportAdmin(_Lists):
    list_display = (
        "received_at",
        "stream_id",
        "error_type",
        "status_code",
        "whep_host",
        "browser_name",
        "client_address",
        "error_message",
    )
    list_filter = ("error_type", "status_code", "whep_host", "browser_name")
    search_fields = ("stream_id", "=report_id", "error_message")
    ordering = ("-received_at", "-id")


@admin.register(ErrorGroup)
class ErrorGroupAdmin(_Lists):
    list_display = (
        "stream_id",
        "error_type",
        "status_code",
        "whep_host",
        "report_count",
        "client_count",
        "first_seen_at",
        "last_seen_at",
    )
    list_filter = ("error_type", "status_code", "whep_host")
    search_fields = ("stream_id", "=fingerprint")


@admin.register(Incident)
class IncidentAdmin(_Lists):
    list_display = (
        "scope_key",
        "state",
        "verdict",
        "viewer_count",
        "report_count",
        "opened_at",
        "last_report_at",
        "resolved_at",
    )
    list_filter = ("state", "verdict", "trigger", "server_name")
    search_fields = ("scope_key",)


@admin.register(ProbeResult)
class ProbeResultAdmin(_Lists):
    list_display = ("server_name", "probed_at", "verdict", "duration_ms", "error")
    list_filter = ("server_name", "verdict")
