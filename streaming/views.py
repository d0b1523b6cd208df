"""The live-monitoring page, and the MJPEG and snapshot endpoints an ``<img>`` tag can use."""

import logging
from collections.abc import AsyncIterator
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from rest_framework import serializers

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.errors import ApplicationError
from broadcastops.rest import error_body
from streaming import selectors, services
from streaming.hub import LatestSlot, hub_get
from streaming.media import rendition_width

logger = logging.getLogger(__name__)

_BOUNDARY = "frame"
_NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache"}


class StreamParams(serializers.Serializer):
    """Query parameters of the MJPEG URL, the old frontend's included."""

    loop = serializers.BooleanField(required=False, allow_null=True, default=None)
    speed = serializers.FloatField(required=False, min_value=0.25, max_value=4.0)
    t = serializers.CharField(required=False, allow_blank=True, max_length=64)
    video_path = serializers.CharField(required=False, allow_blank=True, max_length=1024)
    width = serializers.IntegerField(required=False, min_value=16, max_value=7680)
    fps = serializers.FloatField(required=False, min_value=1, max_value=60)


def _error(exc: ApplicationError) -> JsonResponse:
    return JsonResponse(error_body(exc.code, exc.message, exc.detail), status=exc.status_code)


async def _viewer_check(request: HttpRequest) -> JsonResponse | None:
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse(
            error_body("not_authenticated", gettext("Sign in to watch live monitoring.")),
            status=401,
        )
    if not await database_sync_to_async(user_has_role)(user, Role.VIEWER):
        return JsonResponse(
            error_body("permission_denied", gettext("Your account has no live-monitoring role.")),
            status=403,
        )
    return None


def _params(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    params = StreamParams(data=request.GET.dict())
    if not params.is_valid():
        return JsonResponse(
            error_body("invalid", gettext("The stream parameters are not valid."), params.errors),
            status=400,
        )
    return params.validated_data


@never_cache
async def mjpeg_stream(request: HttpRequest, camera_id: str) -> HttpResponseBase:
    """``multipart/x-mixed-replace`` of the camera's frames, for an ``<img>`` tag.

    The old frontend's parameters keep their meaning: ``video_path`` names the upload to
    play (only a known upload; anything else is refused), ``t`` asks for a fresh start once
    per value, ``loop`` and ``speed`` set the playback. The response has no flow control of
    its own (daphne does not signal a slow reader to an HTTP response), so the page uses the
    WebSocket; this endpoint stays for ``<img>`` players.
    """
    denied = await _viewer_check(request)
    if denied:
        return denied
    params = _params(request)
    if isinstance(params, JsonResponse):
        return params
    try:
        services.camera_id_check(camera_id)
        upload = None
        if params.get("video_path"):
            upload = await database_sync_to_async(selectors.upload_get_by_reference)(
                reference=params["video_path"]
            )
            if upload is None:
                logger.warning("Refused video_path camera=%s: not a known upload", camera_id)
                return JsonResponse(
                    error_body(
                        "unknown_video",
                        gettext(
                            "video_path does not name an uploaded video; upload the file first "
                            "and use the video_path the upload returned."
                        ),
                    ),
                    status=400,
                )
        user = await request.auser()
        session = await database_sync_to_async(services.stream_ensure)(
            camera_id=camera_id,
            upload=upload,
            loop=params.get("loop"),
            speed=params.get("speed"),
            start_token=params.get("t", ""),
            actor=user,
        )
    except ApplicationError as exc:
        return _error(exc)
    if session is None:
        return JsonResponse(
            error_body(
                "no_stream",
                gettext(
                    "No stream is running on camera %(camera)s; an operator starts one on the "
                    "live-monitoring page."
                )
                % {"camera": camera_id},
            ),
            status=404,
        )
    spec = await database_sync_to_async(selectors.stream_spec_from_session)(session)
    hub = hub_get()
    feed = hub.feed(camera_id)
    feed.spec_set(spec)
    width = rendition_width(
        requested=params.get("width"),
        native_width=spec.native_width() if spec else 0,
        allowed=settings.STREAMING_RENDITION_WIDTHS,
    )
    slot = LatestSlot(width=width, max_fps=params.get("fps") or 0.0)

    async def parts() -> AsyncIterator[bytes]:
        await hub.join(camera_id, slot)
        try:
            while True:
                frame = await slot.next_frame(timeout=5.0)
                if frame is None:
                    continue
                yield (
                    (
                        f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(frame.data)}\r\n\r\n"
                    ).encode()
                    + frame.data
                    + b"\r\n"
                )
        finally:
            hub.leave(camera_id, slot)

    return StreamingHttpResponse(
        parts(), content_type=f"multipart/x-mixed-replace; boundary={_BOUNDARY}", headers=_NO_CACHE
    )


@never_cache
async def snapshot(request: HttpRequest, camera_id: str) -> HttpResponseBase:
    """The camera's current frame as one JPEG."""
    denied = await _viewer_check(request)
    if denied:
        return denied
    params = _params(request)
    if isinstance(params, JsonResponse):
        return params
    spec = await database_sync_to_async(selectors.stream_spec_get)(camera_id=camera_id)
    if spec is None:
        return JsonResponse(
            error_body(
                "no_stream",
                gettext("No stream is running on camera %(camera)s.") % {"camera": camera_id},
            ),
            status=404,
        )
    width = rendition_width(
        requested=params.get("width"),
        native_width=spec.native_width(),
        allowed=settings.STREAMING_RENDITION_WIDTHS,
    )
    frame = await hub_get().snapshot(camera_id, width=width, timeout=3.0)
    if frame is None:
        return JsonResponse(
            error_body(
                "no_frame",
                gettext(
                    "The stream has not produced a frame yet; its producer may be starting or "
                    "the stream worker may be down."
                ),
            ),
            status=503,
        )
    return HttpResponse(frame.data, content_type="image/jpeg", headers=_NO_CACHE)


@login_required
def live_monitoring_page(request: HttpRequest) -> HttpResponse:
    if not user_has_role(request.user, Role.VIEWER):
        return render(request, "streaming/forbidden.html", status=403)
    return render(
        request,
        "streaming/live_monitoring.html",
        {
            "cameras": selectors.camera_id_list(),
            "can_operate": user_has_role(request.user, Role.OPERATOR),
            "max_upload_bytes": settings.STREAMING_UPLOAD_MAX_BYTES,
            "extensions": settings.STREAMING_UPLOAD_EXTENSIONS,
            "title": gettext("Live monitoring"),
        },
    )
