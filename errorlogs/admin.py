"""Player error reports in the admin: read-only lists with filters (rows come from players,
the probe and the services only)."""

from typing import Any

from django.contrib import admin
from django.db.models import Field

from broadcastops.actions.admin import ReadOnlyAdmin
from errorlogs.models import ErrorGroup, ErrorReport, Incident, ProbeResult

# The browser filter's choices: the browsers of this many newest reports.
BROWSER_CHOICES_FROM = 5000


class _FromGroups(admin.AllValuesFieldListFilter):
    """Django's filter of every value of a field, its choices read from the groups (every
    report belongs to one, which carries its status code and WHEP server), not by a
    ``SELECT DISTINCT`` over every report: that scans the whole table on each page (about
    50 ms a field at 200,000 reports), and in an outage the table is at its largest when the
    operators open it, in the process that takes the reports."""

    def __init__(self, field: Field, *args: Any, **kwargs: Any) -> None:
        super().__init__(field, *args, **kwargs)
        self.lookup_choices = (
            ErrorGroup.objects.distinct().order_by(field.name).values_list(field.name, flat=True)
        )


class _FromNewestReports(admin.AllValuesFieldListFilter):
    """The same, its choices from the newest reports (groups do not keep browsers)."""

    def __init__(self, field: Field, *args: Any, **kwargs: Any) -> None:
        super().__init__(field, *args, **kwargs)
        newest = ErrorReport.objects.order_by("-received_at", "-id")[:BROWSER_CHOICES_FROM]
        self.lookup_choices = (
            ErrorReport.objects.filter(pk__in=newest.values("pk"))
            .distinct()
            .order_by(field.name)
            .values_list(field.name, flat=True)
        )


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
    list_filter = (
        "error_type",
        ("status_code", _FromGroups),
        ("whep_host", _FromGroups),
        ("browser_name", _FromNewestReports),
    )
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
