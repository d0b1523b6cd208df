from django.contrib import admin, messages

from broadcastops.errors import ApplicationError
from streaming import services
from streaming.models import StreamSession, Upload


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = [
        "camera_id",
        "original_name",
        "resolution",
        "fps",
        "duration_s",
        "size_bytes",
        "created_at",
    ]
    list_filter = ["camera_id"]
    search_fields = ["camera_id", "original_name", "file_name", "id"]
    readonly_fields = [f.name for f in Upload._meta.fields]
    actions = ["delete_unused"]

    def has_add_permission(self, request):
        return False  # uploads arrive through the page or the API, where they are checked

    def has_delete_permission(self, request, obj=None):
        return False  # deleting goes through the service, which spares playing uploads

    @admin.action(description="Delete the selected uploads that no stream plays")
    def delete_unused(self, request, queryset):
        deleted = 0
        for upload in queryset:
            try:
                services.upload_delete(upload=upload)
                deleted += 1
            except ApplicationError as exc:
                self.message_user(request, f"{upload}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Deleted {deleted} upload(s).")


@admin.register(StreamSession)
class StreamSessionAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Stop the selected running streams")
    def stop_sessions(self, request, queryset):
        for session in queryset.filter(state=StreamSession.State.RUNNING):
            try:
                services.stream_stop(camera_id=session.camera_id, actor=request.user)
                self.message_user(request, f"Stopped the stream on {session.camera_id}.")
            except ApplicationError as exc:
                self.message_user(request, f"{session.camera_id}: {exc.message}", messages.WARNING)
