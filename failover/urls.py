"""HTTP routes of input failover, included at the site root by ``broadcastops.urls``."""

from django.urls import path

from failover import api

urlpatterns = [
    path("api/v1/failover/audit/", api.AuditListApi.as_view(), name="failover-audit-list"),
    path(
        "api/v1/failover/audit/<str:key>/",
        api.AuditDetailApi.as_view(),
        name="failover-audit-detail",
    ),
    path("api/v1/failover/<str:key>/plan", api.FailoverPlanApi.as_view(), name="failover-plan"),
    path("api/v1/failover/<str:key>/apply", api.FailoverApplyApi.as_view(), name="failover-apply"),
]
