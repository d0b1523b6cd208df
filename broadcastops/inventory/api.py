"""REST API of the inventory: channels, flows, the full status, and the actions on them
(each begins an action and answers 202 with its URL: ``broadcastops.actions``)."""

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.actions.api import ActionOutput, action_accepted
from broadcastops.actions.models import Origin
from broadcastops.actions.types import Actor
from broadcastops.errors import ValidationFailed
from broadcastops.inventory import selectors
from broadcastops.inventory.models import Health, InputRole, LinkFlow, LiveChannel
from broadcastops.inventory.services import actions, push
from broadcastops.rest import IsOperator, IsViewer, StreamUrlField


class LinkedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cloud_id = serializers.CharField()
    name = serializers.CharField()


class CssLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")
    state = serializers.CharField()


class ChannelOutput(serializers.ModelSerializer):
    package_channel = LinkedSerializer(allow_null=True)
    css_stream = CssLinkSerializer(allow_null=True)
    needs_attention = serializers.BooleanField()

    class Meta:
        model = LiveChannel
        fields = [
            "id",
            "cloud_id",
            "name",
            "state",
            "active_input",
            "health",
            "needs_attention",
            "stale_since",
            "changed_at",
            "pipelines",
            "attached_inputs",
            "package_channel",
            "css_stream",
        ]


class FlowOutput(serializers.ModelSerializer):
    feeds_input = serializers.CharField(
        source="feeds_input.cloud_id", allow_null=True, default=None
    )
    # Push URLs: the stream key is masked for Viewers (anyone holding it can push).
    output_endpoints = serializers.ListField(child=StreamUrlField())

    class Meta:
        model = LinkFlow
        fields = [
            "id",
            "cloud_id",
            "name",
            "state",
            "role",
            "output_endpoints",
            "feeds_input",
            "stale_since",
        ]


class ChannelFilter(django_filters.FilterSet):
    state = django_filters.CharFilter()
    active_input = django_filters.ChoiceFilter(choices=InputRole.choices)
    health = django_filters.ChoiceFilter(choices=Health.choices)
    attention = django_filters.BooleanFilter(method="filter_attention")

    class Meta:
        model = LiveChannel
        fields = ["state", "active_input", "health"]

    def filter_attention(
        self, queryset: QuerySet[LiveChannel], name: str, value: bool
    ) -> QuerySet[LiveChannel]:
        return (
            queryset.filter(selectors.ATTENTION) if value else queryset.exclude(selectors.ATTENTION)
        )


class ChannelListApi(generics.ListAPIView):
    """StreamLive channels with state, active input (MAIN/BACKUP/NONE) and health."""

    permission_classes = [IsViewer]
    serializer_class = ChannelOutput
    filterset_class = ChannelFilter

    def get_queryset(self) -> QuerySet[LiveChannel]:
        return selectors.channel_list()


class DiagnosisOutput(serializers.Serializer):
    """A channel's diagnosis; every sentence in the request's language (Accept-Language)."""

    channel_id = serializers.CharField()
    channel_name = serializers.CharField()
    health = serializers.CharField()
    health_label = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    active_input = serializers.CharField()
    input_label = serializers.CharField()
    ok = serializers.BooleanField()
    needs_attention = serializers.BooleanField()
    attention = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why the channel needs attention (empty: it does not).",
    )
    lines = serializers.ListField(child=serializers.DictField())
    cause = serializers.CharField()
    actions = serializers.ListField(child=serializers.CharField())
    failovers_24h = serializers.IntegerField()
    last_failover_at = serializers.DateTimeField(allow_null=True)
    stale_since = serializers.DateTimeField(allow_null=True)


class ChannelDetailApi(APIView):
    """One channel with its flows, status timeline, failover events and diagnosis."""

    permission_classes = [IsViewer]

    @extend_schema(responses=ChannelOutput)
    def get(self, request: Request, key: str) -> Response:
        channel = selectors.channel_get(key=key)
        body = ChannelOutput(channel).data
        body["flows"] = FlowOutput(
            selectors.channel_flows(channel), many=True, context={"request": request}
        ).data
        body["history"] = list(channel.history.values("at", "state", "active_input", "health")[:50])
        body["failovers"] = list(
            channel.failovers.values(
                "pipeline", "kind", "source", "occurred_at", "from_input_id", "to_input_id"
            )[:50]
        )
        body["diagnosis"] = selectors.channel_status_get(channel=channel).as_dict()
        return Response(body)


class StatusOutput(serializers.Serializer):
    summary = serializers.DictField()
    channels = DiagnosisOutput(many=True)


class StatusApi(APIView):
    """The full status: infrastructure summary and every channel's diagnosis, worst first."""

    permission_classes = [IsViewer]

    @extend_schema(responses=StatusOutput)
    def get(self, request: Request) -> Response:
        report = selectors.status_get()
        return Response(
            {"summary": report.summary, "channels": [d.as_dict() for d in report.channels]}
        )


class ActionInput(serializers.Serializer):
    confirm = serializers.BooleanField(
        help_text="Must be true: acting on a live channel is confirmed explicitly."
    )
    override = serializers.BooleanField(
        default=False, help_text="Act even though a schedule forbids it (recorded)."
    )

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Confirm the action with confirm=true.")
        return value


def _confirmed(request: Request) -> dict[str, Any]:
    data = ActionInput(data=request.data)
    if not data.is_valid():
        raise ValidationFailed(
            'This action needs an explicit confirmation: send {"confirm": true}.',
            detail=data.errors,
        )
    return data.validated_data


class ChannelActionApi(APIView):
    """Begins the action and answers 202 with it; follow it at its ``url`` (``Location``)."""

    permission_classes = [IsOperator]
    service = staticmethod(actions.channel_start)

    @extend_schema(request=ActionInput, responses={202: ActionOutput})
    def post(self, request: Request, key: str) -> Response:
        data = _confirmed(request)
        channel = selectors.channel_get(key=key)
        action = self.service(
            channel=channel,
            actor=Actor.of(request.user, Origin.API),
            override=data["override"],
        )
        return action_accepted(action)


class ChannelStartApi(ChannelActionApi):
    """Start the channel in the background (it waits for RUNNING and checks the input)."""

    service = staticmethod(actions.channel_start)


class ChannelStopApi(ChannelActionApi):
    """Stop the channel in the background (it waits for IDLE)."""

    service = staticmethod(actions.channel_stop)


class ChannelRestartApi(ChannelActionApi):
    """Stop, wait for IDLE, start, wait for RUNNING, check the input, in the background."""

    service = staticmethod(actions.channel_restart)


class FlowListApi(generics.ListAPIView):
    permission_classes = [IsViewer]
    serializer_class = FlowOutput
    filterset_fields = ["state", "role"]

    def get_queryset(self) -> QuerySet[LinkFlow]:
        return LinkFlow.objects.filter(removed_at__isnull=True).select_related("feeds_input")


class FlowActionApi(APIView):
    """Begins the action and answers 202 with it; follow it at its ``url`` (``Location``)."""

    permission_classes = [IsOperator]
    service = staticmethod(actions.flow_start)

    @extend_schema(request=ActionInput, responses={202: ActionOutput})
    def post(self, request: Request, key: str) -> Response:
        data = _confirmed(request)
        flow = selectors.flow_get(key=key)
        action = self.service(
            flow=flow, actor=Actor.of(request.user, Origin.API), override=data["override"]
        )
        return action_accepted(action)


class FlowStartApi(FlowActionApi):
    service = staticmethod(actions.flow_start)


class FlowStopApi(FlowActionApi):
    service = staticmethod(actions.flow_stop)


class TencentEventOutput(serializers.Serializer):
    code = serializers.IntegerField()
    id = serializers.IntegerField()


class TencentEventsApi(APIView):
    """StreamLive push callbacks (``EventNotifySettings``). The cloud signs each one
    (sign = MD5(key + t)); that signature is the authentication, so no user signs in. It
    answers at once: the channel's refresh runs in a task."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    parser_classes = [JSONParser]

    @extend_schema(request=dict[str, Any], responses=TencentEventOutput, auth=[])
    def post(self, request: Request) -> Response:
        event = push.push_event_accept(body=request.data)
        return Response(TencentEventOutput({"code": 0, "id": event.pk}).data)
