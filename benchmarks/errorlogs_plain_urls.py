"""The console's URLs, plus the report POST served by Django and DRF for every request
(``errorlogs.api.ErrorReportCreateApi``: the same validation and the same ``reports_store``,
one transaction and one fsync'd write per request, in Django's thread) at a path the web
process's own endpoint does not take."""

from django.urls import path

from benchmarks.errorlogs_load import PLAIN_PATH
from broadcastops.urls import urlpatterns as console
from errorlogs.api import ErrorReportCreateApi

urlpatterns = [path(PLAIN_PATH.lstrip("/"), ErrorReportCreateApi.as_view()), *console]
