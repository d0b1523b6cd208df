"""The admin of the assistants: the approvals MCP writes asked for (who is who in Slack is the
notification settings' Slack member id: ``broadcastops/notify/admin.py``)."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from assistant.models import Approval
from broadcastops.accounts.admin import RoleActions


@admin.register(Approval)
class ApprovalAdmin(RoleActions, admin.ModelAdmin):
    """What assistants asked to do under MCP_APPROVAL=slack, and who decided: read only."""

    list_display = (
        "created_at",
        "tool",
        "requested_by",
        "client_name",
        "status",
        "decided_slack_user",
    )
    list_filter = ("status", "tool")
    readonly_fields = (
        "tool",
        "arguments",
        "plan",
        "requested_by",
        "client_name",
        "status",
        "decided_by",
        "decided_slack_user",
        "created_at",
        "expires_at",
        "decided_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
