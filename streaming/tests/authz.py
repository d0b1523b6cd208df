"""Who may use live monitoring (pages, API, admin, socket); see broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import ANYONE, NO_ONE, OPERATOR, VIEWER
from streaming.camera_ids import CAMERA_ID_ROUTE


def _upload():
    from streaming.models import Upload

    return Upload.objects.create(
        camera_id="cam-authz",
        file_name="authz.mp4",
        size_bytes=1,
        duration_s=1.0,
        fps=30.0,
        frame_count=30,
        width=320,
        height=240,
    )


def _session():
    from django.utils import timezone

    from streaming.models import StreamSession

    return StreamSession.objects.create(
        camera_id="cam-authz", state=StreamSession.State.STOPPED, anchor_at=timezone.now()
    )


# Read-only pages whose "change" (all fields read-only) is what opens the list's actions.
_WITH_ACTIONS = {"view": VIEWER, "add": NO_ONE, "change": OPERATOR, "delete": NO_ONE}

ROUTES = {
    "streaming:page": VIEWER,
    "streaming:javascript-catalog": ANYONE,
    "streaming:legacy-upload": OPERATOR,
    "streaming:legacy-mjpeg": VIEWER,
    "streaming:legacy-snapshot": VIEWER,
    "streaming:upload-list": VIEWER,
    "streaming:upload-create": OPERATOR,
    "streaming:upload-detail": VIEWER,
    "streaming:upload-delete": OPERATOR,
    "streaming:stream-list": VIEWER,
    "streaming:feed-health": VIEWER,
    "streaming:stream-detail": VIEWER,
    "streaming:stream-start": OPERATOR,
    "streaming:stream-stop": OPERATOR,
    "streaming:stream-update": OPERATOR,
    "streaming:mjpeg": VIEWER,
    "streaming:snapshot": VIEWER,
    "streaming:wall": VIEWER,
    "streaming:wall-detail": VIEWER,
    "streaming:wall-layout": VIEWER,  # each user's own layout
    "streaming:alarm-list": VIEWER,
}
ADMIN_MODELS = {
    "streaming.upload": _WITH_ACTIONS,
    "streaming.streamsession": _WITH_ACTIONS,
    # All fields read-only: "change" opens the read-only page, which Operators may.
    "streaming.picturealarm": _WITH_ACTIONS,
}
ADMIN_ACTIONS = {
    "streaming.upload.delete_unused": OPERATOR,
    "streaming.streamsession.stop_sessions": OPERATOR,
}
SOCKETS = {
    rf"^ws/live-monitoring/{CAMERA_ID_ROUTE}/$": VIEWER,
    r"^ws/live-monitoring-wall/$": VIEWER,
}


def _alarm():
    from django.utils import timezone

    from streaming.models import PictureAlarm

    return PictureAlarm.objects.create(
        camera_id="cam-authz",
        kind=PictureAlarm.Kind.FROZEN,
        opened_at=timezone.now(),
        resolved_at=timezone.now(),
    )


SAMPLES = {
    "streaming.upload": _upload,
    "streaming.streamsession": _session,
    "streaming.picturealarm": _alarm,
}
