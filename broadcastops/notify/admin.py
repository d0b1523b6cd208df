from django.contrib import admin

from broadcastops.accounts.admin import RoleActions
from broadcastops.notify.models import Notification


@admin.register(Notification)
class NotificationAdmin(RoleActions, admin.ModelAdmin):
    """The delivery log: read-only, for everyone with the console."""

    list_display = (
        "created_at",
        "severity",
        "event",
        "subject",
        "title",
        "status",
        "attempts",
        "suppressed_count",
    )
    list_filter = ("status", "severity", "event")
    search_fields = ("subject", "title", "text")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
