"""HTTP routes of the audit trail, included at the site root by ``broadcastops.urls``."""

from django.urls import path

from broadcastops.actions import api

urlpatterns = [
    path("api/v1/actions/", api.ActionListApi.as_view(), name="action-list"),
    path("api/v1/actions/<int:pk>/", api.ActionDetailApi.as_view(), name="action-detail"),
    path("api/v1/audit/", api.AuditListApi.as_view(), name="audit-list"),
    path("api/v1/audit/<int:pk>/", api.AuditDetailApi.as_view(), name="audit-detail"),
]
