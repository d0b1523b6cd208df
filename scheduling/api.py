"""REST API of the schedules: viewers read; operators create, change and cancel."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.errors import NotFound, ValidationFailed
from broadcastops.i18n import Message
from broadcastops.inventory.selectors import channel_get
from broadcastops.rest import IsOperator, IsViewer, ViewerReadsOperatorWrites
from scheduling import selectors, services
from scheduling.kpis import MAX_KPI_DAYS, kpis_get, kpis_json
from scheduling.models import Schedule, ScheduleStep
from scheduling.reports import daily_report_get, daily_report_json, day_bounds


class StepOutput(serializers.ModelSerializer):
    result = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()
    action_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = ScheduleStep
        fields = [
            "kind",
            "state",
            "due_at",
            "started_at",
            "finished_at",
            "attempts",
            "action_id",
            "result",
            "outcome",
        ]

    def get_result(self, obj: ScheduleStep) -> dict[str, Any]:
        items = [
            {**i, "detail": str(Message.from_json(i["detail"]))}
            for i in obj.result.get("items") or ()
        ]
        return {"ready": obj.result["ready"], "items": items} if obj.result else {}

    def get_outcome(self, obj: ScheduleStep) -> str:
        return str(Message.from_json(obj.outcome)) if obj.outcome else ""


class ScheduleOutput(serializers.ModelSerializer):
    channel_id = serializers.CharField(source="channel.cloud_id")
    channel = serializers.CharField(source="channel.name")
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    steps = StepOutput(many=True)

    class Meta:
        model = Schedule
        fields = [
            "id",
            "title",
            "channel_id",
            "channel",
            "starts_at",
            "ends_at",
            "assignee",
            "auto_start",
            "auto_stop",
            "block_on_failed_check",
            "notes",
            "status",
            "series",
            "on_air_at",
            "off_air_at",
            "steps",
        ]


class RepeatInput(serializers.Serializer):
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        allow_empty=False,
        help_text=gettext_lazy("0 = Monday ... 6 = Sunday"),
    )
    until = serializers.DateField()


class ScheduleInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    channel = serializers.CharField(
        max_length=200, help_text=gettext_lazy("The channel's cloud id or name")
    )
    # Without an offset, times are read in the console's time zone (Asia/Seoul).
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    assignee = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    auto_start = serializers.BooleanField(required=False, default=False)
    auto_stop = serializers.BooleanField(required=False, default=False)
    block_on_failed_check = serializers.BooleanField(required=False, default=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    allow_past = serializers.BooleanField(required=False, default=False)
    repeat = RepeatInput(required=False, allow_null=True)


class ScheduleUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    channel = serializers.CharField(max_length=200, required=False)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    assignee = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    auto_start = serializers.BooleanField(required=False)
    auto_stop = serializers.BooleanField(required=False)
    block_on_failed_check = serializers.BooleanField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    allow_past = serializers.BooleanField(required=False, default=False)


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationFailed(
            _("The request is not valid; see detail for each field."), detail=serializer.errors
        )
    return dict(serializer.validated_data)


def _channel(key: str) -> Any:
    try:
        return channel_get(key=key)
    except NotFound as exc:  # a field of the body, not the URL: 400
        raise ValidationFailed(
            exc.message, code="unknown_channel", detail={"field": "channel"}
        ) from exc


def _assignee(key: str | None) -> Any:
    if not key:
        return None
    lookup = Q(username=key) | (Q(pk=int(key)) if key.isdigit() else Q())
    user = get_user_model().objects.filter(lookup, is_active=True).first()
    if user is None:
        raise ValidationFailed(
            _("No active user “%(key)s” to assign.") % {"key": key}, detail={"field": "assignee"}
        )
    return user


def _written(result: services.ScheduleResult, status: int) -> Response:
    return Response(
        {
            "schedules": ScheduleOutput(result.schedules, many=True).data,
            "warnings": result.warnings,
        },
        status=status,
    )


class ScheduleListApi(generics.ListAPIView):
    """``GET``: schedules of the next ``days`` (default 7; ``channel``, ``assignee``,
    ``status``). ``POST``: create one (or one per occurrence of ``repeat``)."""

    permission_classes = [ViewerReadsOperatorWrites]
    serializer_class = ScheduleOutput

    @extend_schema(
        parameters=[
            OpenApiParameter("days", int),
            OpenApiParameter("channel", str),
            OpenApiParameter("assignee", str),
            OpenApiParameter("status", str),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        params = self.request.query_params
        raw = params.get("days", "7")
        if not raw.isdigit():
            raise ValidationFailed(
                _("days must be a whole number of days."), detail={"field": "days"}
            )
        return selectors.schedule_list(
            days=int(raw),
            channel=params.get("channel", ""),
            assignee=params.get("assignee", ""),
            status=params.get("status", ""),
        )

    @extend_schema(request=ScheduleInput, responses={201: ScheduleOutput(many=True)})
    def post(self, request: Request) -> Response:
        data = _validated(ScheduleInput, request.data)
        repeat = data.pop("repeat", None)
        result = services.schedule_create(
            title=data["title"],
            channel=_channel(data["channel"]),
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            assignee=_assignee(data.get("assignee")),
            auto_start=data["auto_start"],
            auto_stop=data["auto_stop"],
            block_on_failed_check=data["block_on_failed_check"],
            notes=data["notes"],
            allow_past=data["allow_past"],
            repeat=services.WeeklyRule(
                weekdays=frozenset(repeat["weekdays"]), until=repeat["until"]
            )
            if repeat
            else None,
            created_by=request.user if request.user.is_authenticated else None,
        )
        return _written(result, 201)


class ScheduleUpcomingApi(APIView):
    """What airs now and next (``limit``, default 10)."""

    permission_classes = [IsViewer]

    @extend_schema(parameters=[OpenApiParameter("limit", int)], responses=ScheduleOutput(many=True))
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("limit", "10")
        limit = int(raw) if raw.isdigit() else 10
        return Response(ScheduleOutput(selectors.schedule_upcoming(limit=limit), many=True).data)


class ScheduleDetailApi(APIView):
    """``GET``: one schedule with its steps. ``PATCH``: change it (moving it moves its
    pending steps; on air, only its end)."""

    permission_classes = [ViewerReadsOperatorWrites]

    @extend_schema(responses=ScheduleOutput)
    def get(self, request: Request, pk: int) -> Response:
        return Response(ScheduleOutput(selectors.schedule_get(pk=pk)).data)

    @extend_schema(request=ScheduleUpdateInput, responses=ScheduleOutput)
    def patch(self, request: Request, pk: int) -> Response:
        data = _validated(ScheduleUpdateInput, request.data)
        if not set(data) - {"allow_past"}:
            raise ValidationFailed(_("Nothing to change: send the fields to change."))
        allow_past = data.pop("allow_past")
        if "channel" in data:
            data["channel"] = _channel(data["channel"])
        if "assignee" in data:
            data["assignee"] = _assignee(data["assignee"])
        result = services.schedule_update(
            schedule=selectors.schedule_get(pk=pk), changes=data, allow_past=allow_past
        )
        return _written(result, 200)


class ScheduleCancelApi(APIView):
    """Cancel a schedule that is not on air (its pending steps are cancelled)."""

    permission_classes = [IsOperator]

    @extend_schema(request=None, responses=ScheduleOutput)
    def post(self, request: Request, pk: int) -> Response:
        schedule = services.schedule_cancel(schedule=selectors.schedule_get(pk=pk))
        return Response(ScheduleOutput(selectors.schedule_get(pk=schedule.pk)).data)


def _day(raw: str | None, field: str = "date") -> date:
    if not raw:
        return timezone.localdate()
    try:
        day = parse_date(raw)
    except ValueError:
        day = None
    if day is None:
        raise ValidationFailed(
            _("%(field)s must be a day as YYYY-MM-DD, e.g. 2026-12-01.") % {"field": field},
            detail={"field": field},
        )
    return day


class DailyReportApi(APIView):
    """One local day's report (``?date=YYYY-MM-DD``, default today): broadcasts, completed,
    interrupted, failovers with channel and time, incidents with time down and time to
    recover, total and average broadcast time (seconds)."""

    permission_classes = [IsViewer]

    @extend_schema(parameters=[OpenApiParameter("date", str)], responses=dict[str, Any])
    def get(self, request: Request) -> Response:
        report = daily_report_get(day=_day(request.query_params.get("date")))
        return Response(daily_report_json(report))


def _period(params: Any) -> tuple[datetime, datetime]:
    """``from`` and ``to`` as local days (YYYY-MM-DD, ``to`` included) or instants; default
    the last seven local days."""
    today = timezone.localdate()
    bounds = []
    for name, default in (("from", today - timedelta(days=6)), ("to", today)):
        raw = params.get(name)
        moment = parse_datetime(raw) if raw and "T" in raw else None
        if moment is not None and timezone.is_aware(moment):
            bounds.append(moment)
            continue
        day = _day(raw, field=name) if raw else default
        start, end = day_bounds(day)
        bounds.append(start if name == "from" else end)
    if bounds[1] <= bounds[0]:
        raise ValidationFailed(_("“to” must be after “from”."), detail={"field": "to"})
    if bounds[1] - bounds[0] > timedelta(days=MAX_KPI_DAYS):
        raise ValidationFailed(
            _("A period is at most %(days)s days.") % {"days": MAX_KPI_DAYS},
            detail={"field": "to"},
        )
    return bounds[0], bounds[1]


class KpiApi(APIView):
    """KPIs over ``?from=&to=`` (local days, ``to`` included, or ISO instants with an
    offset; default the last seven days), overall and per channel. Ratios are 0..1 (null
    when there is nothing to divide by); durations in seconds. Definitions: the README."""

    permission_classes = [IsViewer]

    @extend_schema(
        parameters=[OpenApiParameter("from", str), OpenApiParameter("to", str)],
        responses=dict[str, Any],
    )
    def get(self, request: Request) -> Response:
        starts, ends = _period(request.query_params)
        return Response(kpis_json(kpis_get(starts=starts, ends=ends)))
