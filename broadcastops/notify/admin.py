from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from broadcastops.accounts.admin import RoleActions
from broadcastops.i18n import Message
from broadcastops.notify.models import Notification
from broadcastops.notify.services import notification_render


@admin.register(Notification)
class NotificationAdmin(RoleActions, admin.ModelAdmin):
    """The delivery log: read-only, for everyone with the console, in the reader's language."""

    list_display = (
        "created_at",
        "severity",
        "event",
        "subject",
        "title_text",
        "status",
        "attempts",
        "suppressed_count",
    )
    list_filter = ("status", "severity", "event")
    search_fields = ("subject", "title", "text")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "severity",
        "event",
        "subject",
        "title_text",
        "text_text",
        "facts_text",
        "actions_text",
        "status",
        "attempts",
        "last_error",
        "suppressed_count",
        "sent_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description=_("title"))
    def title_text(self, obj: Notification) -> Message:
        return obj.title_message

    @admin.display(description=_("text"))
    def text_text(self, obj: Notification) -> Message:
        return obj.text_message

    @admin.display(description=_("facts"))
    def facts_text(self, obj: Notification) -> str:
        facts = notification_render(notification=obj).facts
        return format_html_join("", "<div><b>{}</b>: {}</div>", facts) or "-"

    @admin.display(description=_("what to do"))
    def actions_text(self, obj: Notification) -> str:
        actions = notification_render(notification=obj).actions
        return format_html_join("", "<li>{}</li>", ((a,) for a in actions)) or "-"
