from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErrorlogsConfig(AppConfig):
    name = "errorlogs"
    label = "errorlogs"
    verbose_name = _("Player errors")

    def ready(self) -> None:
        from broadcastops import registry
        from errorlogs.endpoint import report_endpoint, report_lean, writer_drain

        # The web process serves the report POST itself, in the event loop, writing in
        # batches (errorlogs/endpoint.py): the lean way from Twisted's request when it can,
        # else as an ASGI callable; on SIGTERM it writes and answers what it accepted.
        registry.HTTP_ENDPOINTS.register(report_endpoint, key=REPORTS_PATH)
        registry.HTTP_LEAN_ENDPOINTS.register(report_lean, key=REPORTS_PATH)
        registry.WEB_SHUTDOWN.register(writer_drain)


REPORTS_PATH = "/api/v1/error-logs/mediamtx"
