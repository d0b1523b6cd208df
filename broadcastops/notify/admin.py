from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from broadcastops.notify.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
