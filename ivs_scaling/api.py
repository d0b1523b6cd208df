"""REST API of the IVS shows: the existing frontend's ``/api/stage...`` calls, ``/api/v1/shows/``.

Who may call what (the authorisation table is ``ivs_scaling/tests/authz.py``):

* anyone, without a console login: ``POST /api/stage/join`` and ``/leave`` — the players of
  the existing frontend call them for the audience. They are throttled per client address
  (``IVS_JOIN_THROTTLE``, ``IVS_LEAVE_THROTTLE``), bounded (one seat per join, freed when its
  viewer is not seen connected within ``IVS_SEAT_CONNECT_S``, at most 6 stages of a show's
  capacity), and a request with a missing or bad body is refused before any database query;
* Viewers: the reads (``GET /api/stage``, ``publisher-info``, shows and their event log);
* Operators: everything that acts (shows, the broadcaster's publish token, stages,
  replication).
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from broadcastops.actions.api import ActionOutput, action_accepted
from broadcastops.actions.models import Origin
from broadcastops.actions.types import Actor
from broadcastops.errors import ApplicationError
from broadcastops.rest import IsOperator, IsViewer
from ivs_scaling import selectors
from ivs_scaling.models import Show, ShowEvent, Stage
from ivs_scaling.services import seats, shows


def _actor(request: Request) -> Actor:
    return Actor.of(request.user, Origin.API)


def _show(name: str | None) -> Show:
    return selectors.show_get(name=name or "")


class RetryAfter(APIView):
    """Errors that say when to try again (``detail.retry_after_s``) carry ``Retry-After``."""

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, ApplicationError) and isinstance(exc.detail, dict):
            retry = exc.detail.get("retry_after_s")
            if retry:
                response["Retry-After"] = str(retry)
        return response


class AddressThrottle(SimpleRateThrottle):
    """Per client address, signed in or not (a player's audience shares no account)."""

    def get_rate(self) -> str | None:
        # Read when asked (DRF's class attribute is frozen at import, settings are not).
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(str(self.scope))
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class JoinThrottle(AddressThrottle):
    scope = "ivs_join"


class LeaveThrottle(AddressThrottle):
    scope = "ivs_leave"


# --- output ---------------------------------------------------------------------------------
class StageOutput(serializers.ModelSerializer):
    stageArn = serializers.CharField(source="arn")
    viewerCount = serializers.IntegerField(source="viewer_count")
    replicationState = serializers.CharField(source="replication_state")
    replicationNote = serializers.CharField(source="replication_note")
    emptySince = serializers.DateTimeField(source="empty_since", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Stage
        fields = [
            "name",
            "stageArn",
            "role",
            "state",
            "capacity",
            "viewerCount",
            "replicationState",
            "replicationNote",
            "emptySince",
            "createdAt",
        ]


class ShowOutput(serializers.ModelSerializer):
    scaleUpThreshold = serializers.IntegerField(source="scale_up_threshold")
    gracePeriodSeconds = serializers.IntegerField(source="grace_period_s")
    maxStages = serializers.IntegerField(source="max_stages")
    reconnectWindowSeconds = serializers.IntegerField(source="reconnect_window_s")
    admitEarly = serializers.BooleanField(source="admit_early")
    doorsOpen = serializers.BooleanField(source="doors_open")
    createdAt = serializers.DateTimeField(source="created_at")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    stages = serializers.SerializerMethodField()
    viewers = serializers.SerializerMethodField()

    class Meta:
        model = Show
        fields = [
            "name",
            "state",
            "capacity",
            "scaleUpThreshold",
            "gracePeriodSeconds",
            "maxStages",
            "reconnectWindowSeconds",
            "admitEarly",
            "doorsOpen",
            "viewers",
            "stages",
            "createdAt",
            "endedAt",
        ]

    @extend_schema_field(StageOutput(many=True))
    def get_stages(self, obj: Show) -> list[dict[str, Any]]:
        return list(StageOutput(selectors.stage_list(show=obj), many=True).data)

    def get_viewers(self, obj: Show) -> int:
        return selectors.show_viewer_count(show=obj)


class EventOutput(serializers.ModelSerializer):
    stage = serializers.CharField(source="stage.name", default="")
    text = serializers.SerializerMethodField()

    class Meta:
        model = ShowEvent
        fields = ["at", "kind", "level", "stage", "text", "action_id"]

    def get_text(self, obj: ShowEvent) -> str:
        return selectors.event_text(obj)


# --- input ----------------------------------------------------------------------------------
class ShowNameInput(serializers.Serializer):
    show = serializers.CharField(required=False, allow_blank=True, max_length=48, default="")


class ShowCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=48)
    capacity = serializers.IntegerField(required=False, default=50)
    scaleUpThreshold = serializers.IntegerField(required=False, default=45)
    gracePeriodSeconds = serializers.IntegerField(required=False, default=60)
    maxStages = serializers.IntegerField(required=False, default=6)
    reconnectWindowSeconds = serializers.IntegerField(required=False, default=30)
    admitEarly = serializers.BooleanField(required=False, default=False)


class UserInput(ShowNameInput):
    userId = serializers.CharField(max_length=128)

    def validate_userId(self, value: str) -> str:
        if not value.isprintable():
            raise serializers.ValidationError(_("userId must be printable text."))
        return value


class LeaveInput(serializers.Serializer):
    seat = serializers.RegexField(
        r"^[0-9a-f]{32}$",
        error_messages={"invalid": _('Not a seat key (the "seat" the join answered).')},
    )


class StageCreateInput(ShowNameInput):
    name = serializers.CharField(required=False, allow_blank=True, max_length=128, default="")


class ReplicationInput(serializers.Serializer):
    sourceStageArn = serializers.CharField(max_length=200)
    destinationStageArn = serializers.CharField(max_length=200)
    participantId = serializers.CharField(max_length=100)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- shows ----------------------------------------------------------------------------------
class ShowListApi(generics.ListAPIView):
    """Every show, newest first (Viewers); ``POST`` creates one with its master (Operators)."""

    serializer_class = ShowOutput

    def get_permissions(self) -> list[Any]:
        return [IsOperator()] if self.request.method == "POST" else [IsViewer()]

    def get_queryset(self) -> Any:
        return selectors.show_list(state=self.request.query_params.get("state", ""))

    @extend_schema(request=ShowCreateInput, responses={201: ShowOutput})
    def post(self, request: Request) -> Response:
        data = _valid(ShowCreateInput, request.data)
        show, action = shows.show_create(
            spec=shows.ShowSpec(
                name=data["name"],
                capacity=data["capacity"],
                scale_up_threshold=data["scaleUpThreshold"],
                grace_period_s=data["gracePeriodSeconds"],
                max_stages=data["maxStages"],
                reconnect_window_s=data["reconnectWindowSeconds"],
                admit_early=data["admitEarly"],
            ),
            actor=_actor(request),
        )
        body = {**ShowOutput(show).data, "action": ActionOutput(action).data}
        return Response(body, status=201)


class ShowDetailApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(responses=ShowOutput)
    def get(self, request: Request, name: str) -> Response:
        return Response(ShowOutput(_show(name)).data)


class ShowEndApi(APIView):
    """End the show: every replica stopped, every secondary deleted (202, the action)."""

    permission_classes = [IsOperator]

    @extend_schema(request=None, responses={202: ActionOutput})
    def post(self, request: Request, name: str) -> Response:
        return action_accepted(shows.show_end(show=_show(name), actor=_actor(request)))


class ShowEventListApi(generics.ListAPIView):
    """The show's event log, newest first, in the reader's language."""

    permission_classes = [IsViewer]
    serializer_class = EventOutput

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema's look at the view
            return ShowEvent.objects.none()
        return selectors.event_list(show=_show(self.kwargs["name"]))


# --- the broadcaster -----------------------------------------------------------------------------
class PublisherTokenApi(APIView):
    """A PUBLISH token for the master stage; the broadcaster is recorded (Operators)."""

    permission_classes = [IsOperator]

    @extend_schema(request=UserInput, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(UserInput, request.data)
        show = _show(data["show"])
        token = shows.publisher_token_create(
            show=show, user_id=data["userId"], actor=_actor(request)
        )
        master = selectors.master_stage(show=show)
        return Response(
            {
                "show": show.name,
                "stageArn": master.arn if master else "",
                "participantId": token.participant_id,
                "userId": token.user_id,
                "token": token.token,
                "capabilities": list(token.capabilities),
                "expirationTime": token.expiration_time,
            },
            status=201,
        )


class PublisherInfoApi(APIView):
    """The existing frontend's ``{"hasPublisher", "publisherInfo"}`` (Viewers)."""

    permission_classes = [IsViewer]

    @extend_schema(
        parameters=[OpenApiParameter("show", str, required=False)], responses=OpenApiTypes.OBJECT
    )
    def get(self, request: Request) -> Response:
        show = _show(request.query_params.get("show", ""))
        state = selectors.publisher_state(show=show)
        if state is None:
            return Response({"hasPublisher": False, "publisherInfo": None})
        return Response(
            {
                "hasPublisher": True,
                "publisherInfo": {
                    "participantId": state.participant_id,
                    "stageArn": state.stage_arn,
                    "userId": state.user_id,
                },
                "publishing": state.publishing,
                "doorsOpen": state.doors_open,
            }
        )


# --- stages (the existing frontend's manual calls) ----------------------------------------------
class StageApi(APIView):
    """``GET``: the show's stages with viewer counts (Viewers). ``POST``: create a secondary
    stage now, answered with its ARN (Operators)."""

    def get_permissions(self) -> list[Any]:
        return [IsOperator()] if self.request.method == "POST" else [IsViewer()]

    @extend_schema(
        parameters=[OpenApiParameter("show", str, required=False)], responses=OpenApiTypes.OBJECT
    )
    def get(self, request: Request) -> Response:
        show = _show(request.query_params.get("show", ""))
        stages = selectors.stage_list(show=show)
        return Response(
            {
                "show": show.name,
                "totalViewers": sum(s.viewer_count for s in stages),
                "stages": StageOutput(stages, many=True).data,
            }
        )

    @extend_schema(request=StageCreateInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        data = _valid(StageCreateInput, request.data)
        stage = shows.stage_create_now(
            show=_show(data["show"]), name=data["name"], actor=_actor(request)
        )
        return Response({"success": True, "stage": StageOutput(stage).data}, status=201)


class _ReplicationApi(APIView):
    permission_classes = [IsOperator]
    call = staticmethod(shows.replication_start_now)

    @extend_schema(request=ReplicationInput, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(ReplicationInput, request.data)
        source = data["sourceStageArn"]
        selectors.stage_get_by_arn(arn=source, field="sourceStageArn")
        destination = selectors.stage_get_by_arn(
            arn=data["destinationStageArn"], field="destinationStageArn"
        )
        participant_id = selectors.participant_id_check(data["participantId"])
        answer = self.call(
            source_arn=source,
            destination=destination,
            participant_id=participant_id,
            actor=_actor(request),
        )
        body: dict[str, Any] = {
            "success": answer.success,
            "message": answer.message,
            "replicationState": answer.state,
            "actionId": answer.action_id,
        }
        if answer.success:
            return Response(body)
        # Both shapes: the frontend's {"success", "message"} and the API's error body.
        code = "not_publishing" if answer.state == Stage.Replication.PENDING else "refused"
        return Response({**body, "code": code, "detail": {"state": answer.state}}, status=409)


class ReplicationStartApi(_ReplicationApi):
    """Start replicating the broadcaster into a stage now: ``{"success": true, "message"}``,
    or 409 ``{"success": false, "message": "<id> is not publishing"}`` (it then starts by
    itself once the broadcaster publishes)."""

    call = staticmethod(shows.replication_start_now)


class ReplicationStopApi(_ReplicationApi):
    """Stop replicating into a stage now (it stays stopped until started again)."""

    call = staticmethod(shows.replication_stop_now)


# --- viewers ------------------------------------------------------------------------------------
class JoinApi(RetryAfter):
    """A seat on a stage with room and a SUBSCRIBE token for it (anyone; throttled).

    409 ``host_not_live`` ("The host is not live yet.") before the broadcaster has published,
    409 ``show_full`` when every stage is full, 503 ``stage_pending`` (``Retry-After``) while
    a stage is being added."""

    permission_classes = [AllowAny]
    throttle_classes = [JoinThrottle]

    @extend_schema(request=UserInput, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(UserInput, request.data)
        joined = seats.viewer_join(show=_show(data["show"]), user_id=data["userId"])
        return Response(
            {
                "show": joined.seat.show_name,
                "stageArn": joined.seat.stage_arn,
                "stageName": joined.seat.stage_name,
                "participantId": joined.token.participant_id,
                "token": joined.token.token,
                "tokenExpiresAt": joined.token.expiration_time,
                "seat": joined.seat.key,
                "connectBy": joined.seat.expires_at,
            }
        )


class LeaveApi(APIView):
    """Free the seat (``{"seat": <key from the join>}``; anyone holding the key; throttled)."""

    permission_classes = [AllowAny]
    throttle_classes = [LeaveThrottle]

    @extend_schema(request=LeaveInput, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(LeaveInput, request.data)
        seats.viewer_leave(key=data["seat"])
        return Response({"success": True})
