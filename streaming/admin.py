from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from broadcastops.accounts.admin import RoleActions
from broadcastops.errors import ApplicationError
from streaming import services
from streaming.models import PictureAlarm, StreamSession, Upload


@admin.register(Upload)
class UploadAdmin(RoleActions, admin.ModelAdmin):
    list_display = [
        "camera_id",
        "original_name",
        "resolution_text",
        "fps",
        "duration_s",
        "size_bytes",
        "created_at",
    ]
    list_filter = ["camera_id"]
    search_fields = ["camera_id", "original_name", "file_name", "id"]
    readonly_fields = [f.name for f in Upload._meta.fields]
    actions = ["delete_unused"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads arrive through the page or the API, where they are checked

    @admin.display(description=_("resolution"))
    def resolution_text(self, obj: Upload) -> str:
        return obj.resolution

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # deleting goes through the service, which spares playing uploads

    @admin.action(
        permissions=["operator"], description=_("Delete the selected uploads that no stream plays")
    )
    def delete_unused(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        deleted = 0
        for upload in queryset:
            try:
                services.upload_delete(upload=upload)
                deleted += 1
            except ApplicationError as exc:
                self.message_user(request, f"{upload}: {exc.message}", messages.WARNING)
        self.message_user(
            request,
            ngettext("Deleted %(count)d upload.", "Deleted %(count)d uploads.", deleted)
            % {"count": deleted},
        )


@admin.register(StreamSession)
class StreamSessionAdmin(RoleActions, admin.ModelAdmin):
    list_display = [
        "camera_id",
        "state",
        "upload",
        "loop",
        "speed",
        "worker_id",
        "started_at",
        "stopped_at",
    ]
    list_filter = ["state", "camera_id"]
    search_fields = ["camera_id", "id"]
    readonly_fields = [f.name for f in StreamSession._meta.fields]
    actions = ["stop_sessions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(permissions=["operator"], description=_("Stop the selected running streams"))
    def stop_sessions(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for session in queryset.filter(state=StreamSession.State.RUNNING):
            try:
                services.stream_stop(camera_id=session.camera_id, actor=request.user)
                self.message_user(
                    request,
                    gettext("Stopped the stream on %(camera)s.") % {"camera": session.camera_id},
                )
            except ApplicationError as exc:
                self.message_user(request, f"{session.camera_id}: {exc.message}", messages.WARNING)


@admin.register(PictureAlarm)
class PictureAlarmAdmin(admin.ModelAdmin):
    """Frozen, black and lost-feed alarms as recorded; judged by the producers, never here."""

    list_display = ["camera_id", "kind", "opened_at", "resolved_at", "session_id"]
    list_filter = ["kind", "camera_id"]
    search_fields = ["camera_id", "session_id"]
    readonly_fields = [f.name for f in PictureAlarm._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
