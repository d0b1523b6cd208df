from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from broadcastops import views
from broadcastops.accounts import api as accounts_api
from broadcastops.rest import api_not_found

admin.site.site_header = "BroadcastOps"
admin.site.site_title = "BroadcastOps"
admin.site.index_title = _("Operations console")
# Django's own Korean catalogue reads "보기위한 1%s 를(을) 선택" (a stray "1") on every read-only
# list: the root catalogue, which LOCALE_PATHS puts first, says it right.
gettext_noop("Select %s to view")

APP_URLCONFS = [
    "broadcastops.cloud.urls",
    "broadcastops.actions.urls",
    "broadcastops.inventory.urls",
    "broadcastops.notify.urls",
    "assistant.urls",
    "streaming.urls",
    "failover.urls",
    "scheduling.urls",
    "ivs_scaling.urls",
    "errorlogs.urls",
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Django's JavaScript catalogue (domain djangojs) for the pages' gettext().
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from a URL: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/auth/token/", accounts_api.TokenCreateApi.as_view(), name="auth-token"),
    path("api/v1/me/", accounts_api.MeApi.as_view(), name="me"),
    *[path("", include(urlconf)) for urlconf in APP_URLCONFS],
    # Last: anything else under /api/ is a JSON 404, never an HTML page or a login redirect.
    re_path(r"^api/(?P<rest>.*)$", csrf_exempt(api_not_found)),
]

handler404 = "broadcastops.rest.api_not_found"
handler500 = "broadcastops.rest.api_server_error"
