"""REST API of live monitoring: thin views over services and selectors."""

import logging
import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.errors import NotFound
from broadcastops.rest import IsOperator, IsViewer
from streaming import selectors, services
from streaming.camera_ids import CAMERA_ID_RE
from streaming.models import PictureAlarm, StreamSession, Upload
from streaming.uploads import VideoUploadHandler

logger = logging.getLogger(__name__)

CAMERA_ID_FIELD: dict[str, Any] = {"max_length": 64, "regex": CAMERA_ID_RE.pattern}


def stream_urls(
    request: HttpRequest, camera_id: str, upload: Upload | None = None
) -> dict[str, str]:
    mjpeg = reverse("streaming:legacy-mjpeg", kwargs={"camera_id": camera_id})
    if upload is not None:
        mjpeg += f"?video_path={upload.file_name}"
    ws_scheme = "wss" if request.is_secure() else "ws"
    return {
        "stream_url": request.build_absolute_uri(mjpeg),
        "snapshot_url": request.build_absolute_uri(
            reverse("streaming:legacy-snapshot", kwargs={"camera_id": camera_id})
        ),
        "websocket_url": f"{ws_scheme}://{request.get_host()}/ws/live-monitoring/{camera_id}/",
        "page_url": request.build_absolute_uri(reverse("streaming:page")) + f"?camera={camera_id}",
    }


class UploadOutputSerializer(serializers.ModelSerializer):
    upload_id = serializers.UUIDField(source="id")
    resolution = serializers.CharField()
    video_path = serializers.CharField(source="file_name")
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "upload_id",
            "camera_id",
            "original_name",
            "video_path",
            "size_bytes",
            "duration_s",
            "fps",
            "frame_count",
            "width",
            "height",
            "resolution",
            "created_at",
            "urls",
        ]

    def get_urls(self, upload: Upload) -> dict[str, str]:
        return stream_urls(self.context["request"], upload.camera_id, upload)


class SessionOutputSerializer(serializers.ModelSerializer):
    session_id = serializers.UUIDField(source="id")
    upload = UploadOutputSerializer(allow_null=True)

    class Meta:
        model = StreamSession
        fields = [
            "session_id",
            "camera_id",
            "state",
            "loop",
            "speed",
            "jpeg_quality",
            "max_width",
            "anchor_at",
            "anchor_position_s",
            "started_at",
            "stopped_at",
            "upload",
        ]


class UploadCreateApi(APIView):
    """Upload a video for a camera (multipart, file field ``video``). Operators only.

    Also served at the old frontend's ``POST /api/live-monitoring/upload-video?camera_id=``.
    """

    permission_classes = [IsOperator]
    # Multipart only: the video streams through the upload handler. A JSON or form body would
    # be read into memory whole (and a JSON list was a 500): another body is a 415.
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        camera_id = serializers.RegexField(**CAMERA_ID_FIELD)
        video = serializers.FileField(
            error_messages={
                "required": _("Choose a video file to upload (form field “video”)."),
                "empty": _("The uploaded file is empty."),
            }
        )

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before anything reads the body: the video streams to the data folder chunk by chunk.
        self.upload_handler = VideoUploadHandler(request)
        request.upload_handlers = [self.upload_handler]
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # Refused (403, 400, 413) or failed: no received file outlives the request.
            self.upload_handler.discard()

    @extend_schema(request=InputSerializer, responses={201: UploadOutputSerializer})
    def post(self, request: Request) -> Response:
        data = {
            "camera_id": request.query_params.get("camera_id") or request.data.get("camera_id"),  # type: ignore[union-attr]  # multipart: a QueryDict
            "video": request.FILES.get("video"),
        }
        serializer = self.InputSerializer(data={k: v for k, v in data.items() if v is not None})
        serializer.is_valid(raise_exception=True)
        video = serializer.validated_data["video"]
        upload = services.upload_create(
            camera_id=serializer.validated_data["camera_id"],
            incoming_path=video.path,
            original_name=video.name,
            actor=request.user,
        )
        body = UploadOutputSerializer(upload, context={"request": request}).data
        # The old frontend reads these three.
        body["message"] = gettext("The video was uploaded.")
        body["filename"] = upload.original_name
        body["stream_url"] = body["urls"]["stream_url"]
        return Response(body, status=status.HTTP_201_CREATED)


class UploadListApi(generics.ListAPIView):
    """Uploads, newest first, paginated (the schema documents the page, not a bare list)."""

    permission_classes = [IsViewer]
    serializer_class = UploadOutputSerializer
    filter_backends: list = []

    class FilterSerializer(serializers.Serializer):
        camera_id = serializers.RegexField(required=False, **CAMERA_ID_FIELD)

    def get_queryset(self) -> QuerySet[Upload]:
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.upload_list(**filters.validated_data)

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class UploadDetailApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(responses=UploadOutputSerializer)
    def get(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = selectors.upload_get(upload_id=upload_id)
        if upload is None:
            raise NotFound(gettext("No such upload."))
        return Response(UploadOutputSerializer(upload, context={"request": request}).data)


class UploadDeleteApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, upload_id: uuid.UUID) -> Response:
        upload = selectors.upload_get(upload_id=upload_id)
        if upload is None:
            raise NotFound(gettext("No such upload."))
        services.upload_delete(upload=upload)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    parameters=[
        OpenApiParameter("camera_id", str, OpenApiParameter.PATH, pattern=CAMERA_ID_RE.pattern)
    ]
)
class CameraApi(APIView):
    """A view of one camera; its id is checked once the caller may use the view."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        services.camera_id_check(kwargs["camera_id"])


class StreamStartApi(CameraApi):
    """Play an upload on a camera from its start; replaces the camera's running stream."""

    permission_classes = [IsOperator]

    class StreamStartInput(serializers.Serializer):
        upload_id = serializers.UUIDField()
        loop = serializers.BooleanField(default=True)
        speed = serializers.FloatField(default=1.0, min_value=0.25, max_value=4.0)
        jpeg_quality = serializers.IntegerField(required=False, min_value=1, max_value=100)
        max_width = serializers.IntegerField(required=False, min_value=0, max_value=7680)

    @extend_schema(request=StreamStartInput, responses={201: SessionOutputSerializer})
    def post(self, request: Request, camera_id: str) -> Response:
        serializer = self.StreamStartInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        upload = selectors.upload_get(upload_id=data.pop("upload_id"))
        if upload is None:
            raise NotFound(
                gettext("No such upload; upload the video again."), code="upload_not_found"
            )
        session = services.stream_start(
            camera_id=camera_id, upload=upload, actor=request.user, **data
        )
        return Response(
            SessionOutputSerializer(session, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class StreamStopApi(CameraApi):
    permission_classes = [IsOperator]

    @extend_schema(request=None, responses=SessionOutputSerializer)
    def post(self, request: Request, camera_id: str) -> Response:
        session = services.stream_stop(camera_id=camera_id, actor=request.user)
        return Response(SessionOutputSerializer(session, context={"request": request}).data)


class StreamUpdateApi(CameraApi):
    """Change loop or speed without restarting playback."""

    permission_classes = [IsOperator]

    class StreamUpdateInput(serializers.Serializer):
        loop = serializers.BooleanField(required=False)
        speed = serializers.FloatField(required=False, min_value=0.25, max_value=4.0)

    @extend_schema(request=StreamUpdateInput, responses=SessionOutputSerializer)
    def post(self, request: Request, camera_id: str) -> Response:
        serializer = self.StreamUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.stream_update(
            camera_id=camera_id, actor=request.user, **serializer.validated_data
        )
        return Response(SessionOutputSerializer(session, context={"request": request}).data)


class StreamDetailApi(CameraApi):
    """The camera's running session (404 when none runs)."""

    permission_classes = [IsViewer]

    @extend_schema(responses=SessionOutputSerializer)
    def get(self, request: Request, camera_id: str) -> Response:
        session = selectors.stream_session_get_active(camera_id=camera_id)
        if session is None:
            raise NotFound(
                gettext("No stream is running on camera %(camera)s.") % {"camera": camera_id},
                code="no_stream",
            )
        body = SessionOutputSerializer(session, context={"request": request}).data
        body["urls"] = stream_urls(request, camera_id)
        return Response(body)


class StreamListApi(generics.ListAPIView):
    """Stream sessions, newest first, paginated."""

    permission_classes = [IsViewer]
    serializer_class = SessionOutputSerializer
    filter_backends: list = []

    class FilterSerializer(serializers.Serializer):
        camera_id = serializers.RegexField(required=False, **CAMERA_ID_FIELD)
        state = serializers.ChoiceField(choices=StreamSession.State.choices, required=False)

    def get_queryset(self) -> QuerySet[StreamSession]:
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.stream_session_list(**filters.validated_data)

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class FeedHealthApi(APIView):
    """Each watched camera's feed in this web process; ``lagging`` lists the late ones."""

    permission_classes = [IsViewer]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(selectors.feed_health())


# -- the camera wall --------------------------------------------------------------------------


class WallLayoutOutputSerializer(serializers.Serializer):
    columns = serializers.IntegerField()
    cameras = serializers.ListField(child=serializers.CharField())


class WallOutputSerializer(serializers.Serializer):
    layout = WallLayoutOutputSerializer()
    running = serializers.ListField(child=serializers.CharField())
    tiles = serializers.ListField(
        child=serializers.CharField(), help_text="the cameras the wall shows, in order"
    )
    alarms = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    tile_width = serializers.IntegerField()
    tile_fps = serializers.FloatField()
    websocket_path = serializers.CharField()


class WallApi(APIView):
    """The signed-in user's camera wall: layout, running cameras, the tiles and open alarms."""

    permission_classes = [IsViewer]

    @extend_schema(responses=WallOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(WallOutputSerializer(selectors.wall_get(user=request.user)).data)


class WallLayoutApi(APIView):
    """Read or replace the signed-in user's wall layout (kept across reloads and devices)."""

    permission_classes = [IsViewer]

    class WallLayoutInput(serializers.Serializer):
        columns = serializers.IntegerField(min_value=1, max_value=services.WALL_COLUMNS_MAX)
        cameras = serializers.ListField(
            child=serializers.RegexField(**CAMERA_ID_FIELD), allow_empty=True
        )

    @extend_schema(responses=WallLayoutOutputSerializer)
    def get(self, request: Request) -> Response:
        layout = selectors.wall_get(user=request.user)["layout"]
        return Response(WallLayoutOutputSerializer(layout).data)

    @extend_schema(request=WallLayoutInput, responses=WallLayoutOutputSerializer)
    def put(self, request: Request) -> Response:
        serializer = self.WallLayoutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        layout = services.wall_layout_save(user=request.user, **serializer.validated_data)
        return Response(
            WallLayoutOutputSerializer({"columns": layout.columns, "cameras": layout.cameras}).data
        )


class PictureAlarmOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = PictureAlarm
        fields = ["id", "camera_id", "kind", "session_id", "opened_at", "resolved_at"]


class PictureAlarmListApi(generics.ListAPIView):
    """Picture alarms (frozen, black, lost feed), newest first, paginated."""

    permission_classes = [IsViewer]
    serializer_class = PictureAlarmOutputSerializer
    filter_backends: list = []

    class FilterSerializer(serializers.Serializer):
        camera_id = serializers.RegexField(required=False, **CAMERA_ID_FIELD)
        open_only = serializers.BooleanField(required=False, default=False)

    def get_queryset(self) -> QuerySet[PictureAlarm]:
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.picture_alarm_list(**filters.validated_data)

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
