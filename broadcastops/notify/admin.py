from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from broadcastops.accounts.admin import RoleActions
from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.i18n import Message
from broadcastops.notify.forms import NotifyProfileForm
from broadcastops.notify.models import Notification, NotifyProfile
from broadcastops.notify.services import notification_render, notify_profile_set


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


@admin.register(NotifyProfile)
class NotifyProfileAdmin(RoleActions, admin.ModelAdmin):
    """Everyone's notification settings, for Admins (the permissions are Admin-only); each
    user edits their own on *My notifications* (``mine/``)."""

    list_display = ("user", "user_email", "slack_user_id", "channels", "language")
    list_filter = ("channels", "language")
    search_fields = ("user__username", "user__email", "slack_user_id")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)

    @admin.display(description=_("E-mail address"), ordering="user__email")
    def user_email(self, obj: NotifyProfile) -> str:
        return obj.user.email or "-"

    def get_urls(self) -> list[Any]:
        mine = path(
            "mine/",
            self.admin_site.admin_view(self.mine_view),
            name="notify_notifyprofile_mine",
        )
        return [mine, *super().get_urls()]

    def mine_view(self, request: HttpRequest) -> HttpResponse:
        """The signed-in user's own settings: any role may read and change their own."""
        if not user_has_role(request.user, Role.VIEWER):
            raise PermissionDenied
        user: Any = request.user
        profile = NotifyProfile.objects.filter(user=user).first() or NotifyProfile(user=user)
        form = NotifyProfileForm(
            request.POST or None, instance=profile, initial={"email": user.email}
        )
        if request.method == "POST" and form.is_valid():
            notify_profile_set(
                user=user,
                slack_user_id=form.cleaned_data["slack_user_id"],
                channels=form.cleaned_data["channels"],
                language=form.cleaned_data["language"],
                email=form.cleaned_data["email"],
            )
            self.message_user(request, _("Your notification settings are saved."))
            return redirect("admin:notify_notifyprofile_mine")
        context = {
            **self.admin_site.each_context(request),
            "title": _("My notifications"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request,
            "admin/notify/notifyprofile/mine.html",
            context,
            status=400 if request.method == "POST" else 200,
        )
