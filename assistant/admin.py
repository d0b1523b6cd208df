"""The admin of the people the assistants act for: who is who in Slack (Admins only: a Slack
id linked to a user lets that Slack account act as the user), and the approvals asked."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from assistant.models import Approval
from broadcastops.accounts.admin import RoleActions
from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.notify.models import NotifyProfile


def _admin(request: HttpRequest) -> bool:
    return user_has_role(request.user, Role.ADMIN)


@admin.register(NotifyProfile)
class NotifyProfileAdmin(RoleActions, admin.ModelAdmin):
    """Each user's Slack member id, notification channel and language. Users set their own on
    /assistant/profile/; here an Admin sets anyone's."""

    list_display = ("user", "slack_user_id", "channels", "language")
    search_fields = ("user__username", "slack_user_id")
    autocomplete_fields = ("user",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _admin(request)


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
