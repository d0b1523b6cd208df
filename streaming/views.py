"""The live-monitoring page, and the MJPEG and snapshot endpoints an ``<img>`` tag can use."""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.errors import ApplicationError
from broadcastops.origins import origin_trusted
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


@dataclass(frozen=True)
class _Viewer:
    user: object
    by_token: bool  # Authorization: Token, which no other site can make a browser send


def _refusal(code: str, message: str, status: int) -> JsonResponse:
    headers = {"WWW-Authenticate": "Token"} if status == 401 else None
    return JsonResponse(error_body(code, message), status=status, headers=headers)


async def _viewer(request: HttpRequest) -> _Viewer | JsonResponse:
    """The session's user or the one of ``Authorization: Token``, holding the Viewer role.

    Nothing is read from the database before there are credentials to check: an anonymous
    request costs one look for a session cookie.
    """
    by_token = request.headers.get("Authorization", "").split(" ", 1)[0] == "Token"
    if by_token:
        try:
            found = await database_sync_to_async(TokenAuthentication().authenticate)(request)
        except AuthenticationFailed as exc:
            return _refusal("authentication_failed", str(exc.detail), 401)
        user = found[0] if found else None
    else:
        user = await request.auser()
    if user is None or not user.is_authenticated:
        return _refusal("not_authenticated", gettext("Sign in to watch live monitoring."), 401)
    if not await database_sync_to_async(user_has_role)(user, Role.VIEWER):
        message = gettext("Your account has no live-monitoring role.")
        return _refusal("permission_denied", message, 403)
    return _Viewer(user=user, by_token=by_token)


def _same_site(request: HttpRequest) -> bool:
    """Whether the request comes from the console's own pages (or a trusted origin's).

    A browser attaches the session cookie to an ``<img>`` on any site, so the MJPEG URL's
    ``t``, ``video_path``, ``loop`` and ``speed`` (which restart or change an Operator's stream)
    count only when the browser says the request is same-site (``Sec-Fetch-Site``) or its
    ``Origin`` or ``Referer`` is trusted (``broadcastops.origins``: the player frontend).
    """
    if request.headers.get("Sec-Fetch-Site") in {"same-origin", "same-site", "none"}:
        return True
    own = f"{request.scheme}://{request.get_host()}"
    return any(
        origin_trusted(request.headers.get(header), own=own) for header in ("Origin", "Referer")
    )


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
    per value, ``loop`` and ``speed`` set the playback, for same-site requests and Token
    callers only (``_same_site``); from any other site the running stream is served as is.
    Session or ``Authorization: Token`` authentication, as the API. The response has no flow
    control of its own (daphne does not signal a slow reader to an HTTP response), so the
    page uses the WebSocket; this endpoint stays for ``<img>`` players.
    """
    viewer = await _viewer(request)
    if isinstance(viewer, JsonResponse):
        return viewer
    params = _params(request)
    if isinstance(params, JsonResponse):
        return params
    if not viewer.by_token and not _same_site(request):
        # A link or an <img> on another site: watch what runs, change nothing.
        ignored = sorted(k for k in ("t", "video_path", "loop", "speed") if params.get(k))
        if ignored:
            logger.info("Cross-site MJPEG request camera=%s: ignored %s", camera_id, ignored)
        params = {k: v for k, v in params.items() if k not in ignored}
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
        session = await database_sync_to_async(services.stream_ensure)(
            camera_id=camera_id,
            upload=upload,
            loop=params.get("loop"),
            speed=params.get("speed"),
            start_token=params.get("t", ""),
            actor=viewer.user,
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
    width = rendition_width(
        requested=params.get("width"),
        native_width=spec.native_width() if spec else 0,
        allowed=settings.STREAMING_RENDITION_WIDTHS,
    )
    slot = LatestSlot(width=width, max_fps=params.get("fps") or 0.0)

    async def parts() -> AsyncIterator[bytes]:
        # The feed is made when the client reads, by the join that pins it: made in the
        # view, it stayed in the hub with no viewer when the client left before reading.
        await hub.join(camera_id, slot, spec=spec)  # the session just read: the join reads none
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
    viewer = await _viewer(request)
    if isinstance(viewer, JsonResponse):
        return viewer
    params = _params(request)
    if isinstance(params, JsonResponse):
        return params
    try:
        services.camera_id_check(camera_id)
    except ApplicationError as exc:
        return _error(exc)
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


@login_required
def camera_wall_page(request: HttpRequest) -> HttpResponse:
    """Every running camera (or the user's chosen set) as a tile, on one WebSocket."""
    if not user_has_role(request.user, Role.VIEWER):
        return render(request, "streaming/forbidden.html", status=403)
    return render(
        request,
        "streaming/camera_wall.html",
        {
            "ack_window": settings.STREAMING_ACK_WINDOW,
            "max_columns": list(range(1, services.WALL_COLUMNS_MAX + 1)),
            "title": gettext("Camera wall"),
        },
    )
