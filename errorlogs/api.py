"""REST API of player error reports: the report POST (as the schema shows it) and the latest."""

import logging
import traceback

from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.errors import ApplicationError
from broadcastops.rest import IsViewer
from errorlogs import intake, selectors
from errorlogs import models as m
from errorlogs.errors import ReportsUnavailable
from errorlogs.models import ErrorReport, ErrorType
from errorlogs.services import reports_store

logger = logging.getLogger(__name__)


class ClientInfoSerializer(serializers.Serializer):
    browserName = serializers.CharField(
        max_length=m.BROWSER_NAME_MAX, required=False, allow_null=True
    )
    browserVersion = serializers.CharField(
        max_length=m.BROWSER_VERSION_MAX, required=False, allow_null=True
    )
    os = serializers.CharField(max_length=m.OS_MAX, required=False, allow_null=True)
    screenResolution = serializers.CharField(
        max_length=m.SCREEN_MAX, required=False, allow_null=True
    )


class ReportInputSerializer(serializers.Serializer):
    """One report as the player frontend sends it (the body may also be an array of them).

    The schema only: ``errorlogs.validation`` applies these rules (faster than a serializer).
    """

    timestamp = serializers.CharField(max_length=64, help_text="ISO 8601, the player's clock")
    streamId = serializers.CharField(max_length=m.STREAM_ID_MAX)
    errorType = serializers.CharField(
        max_length=m.ERROR_TYPE_MAX,
        help_text="fetch_error, whep_post_failed, connection_closed, connection_failed or "
        "unknown; any other value is kept as unknown with the value itself beside it",
    )
    errorMessage = serializers.CharField(max_length=m.ERROR_MESSAGE_MAX, allow_blank=True)
    statusCode = serializers.IntegerField(
        min_value=0, max_value=999, required=False, allow_null=True
    )
    whepUrl = serializers.CharField(max_length=m.WHEP_URL_MAX, allow_blank=True)
    userAgent = serializers.CharField(max_length=m.USER_AGENT_MAX, required=False, allow_null=True)
    clientInfo = ClientInfoSerializer(required=False, allow_null=True)
    reportId = serializers.UUIDField(
        required=False, help_text="the reporter's id of the report: sent again, kept once"
    )
    clientId = serializers.CharField(
        max_length=m.CLIENT_ID_MAX, required=False, help_text="the browser's id (distinct viewers)"
    )


class ReportsAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()


class ErrorReportCreateApi(APIView):
    """``POST /api/v1/error-logs/mediamtx``, anonymous: one report or an array of them.

    The web process answers this path with ``errorlogs.endpoint`` (same rules, batched
    writes); this view serves it everywhere else and documents it.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # errorlogs.throttle, the endpoint's own, per address
    parser_classes: list = []  # the body is read raw (errorlogs.validation)

    @extend_schema(
        summary="Report a player failure",
        request=ReportInputSerializer,
        responses={202: ReportsAcceptedSerializer, 400: OpenApiResponse(description="invalid")},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        incoming = intake.Incoming(
            method="POST",
            address=request.META.get("REMOTE_ADDR", ""),
            origin=request.headers.get("Origin", ""),
            own_origin=f"{request.scheme}://{request.META.get('HTTP_HOST', '')}",
            content_type=request.META.get("CONTENT_TYPE", ""),
        )
        try:
            intake.intake_check(incoming)
            reports = intake.intake_parse(incoming, request.body, received_at=timezone.now())
            try:
                reports_store(reports=reports)
            except (DatabaseError, OSError) as exc:
                logger.exception("Reports could not be kept")
                # Django's DatabaseErrorWrapper.__exit__ frame holds the error that holds
                # that frame: a cycle keeping every frame of the request for the collector.
                traceback.clear_frames(exc.__traceback__)
                raise ReportsUnavailable(
                    _("The reports could not be written now; send them again.")
                ) from exc
        except ApplicationError as exc:
            status, body, headers = intake.error_answer(exc)
            return Response(body, status=status, headers=dict(headers))
        return Response(intake.accepted_body(reports), status=202)


class LatestQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=50)
    streamId = serializers.CharField(max_length=m.STREAM_ID_MAX, required=False)
    errorType = serializers.ChoiceField(choices=ErrorType.choices, required=False)
    since = serializers.DateTimeField(required=False)


class ReportOutputSerializer(serializers.ModelSerializer):
    reportId = serializers.UUIDField(source="report_id")
    receivedAt = serializers.DateTimeField(source="received_at")
    timestamp = serializers.DateTimeField(source="client_timestamp")
    streamId = serializers.CharField(source="stream_id")
    errorType = serializers.CharField(source="error_type")
    errorTypeSent = serializers.CharField(source="error_type_sent")
    errorMessage = serializers.CharField(source="error_message")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    whepUrl = serializers.CharField(source="whep_url")
    whepHost = serializers.CharField(source="whep_host")
    userAgent = serializers.CharField(source="user_agent")
    clientInfo = serializers.SerializerMethodField()
    clientAddress = serializers.CharField(source="client_address")

    class Meta:
        model = ErrorReport
        fields = [
            "reportId",
            "receivedAt",
            "timestamp",
            "streamId",
            "errorType",
            "errorTypeSent",
            "errorMessage",
            "statusCode",
            "whepUrl",
            "whepHost",
            "userAgent",
            "clientInfo",
            "clientAddress",
        ]

    def get_clientInfo(self, report: ErrorReport) -> dict[str, str]:
        return {
            "browserName": report.browser_name,
            "browserVersion": report.browser_version,
            "os": report.os,
            "screenResolution": report.screen_resolution,
        }


class LatestSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    results = ReportOutputSerializer(many=True)


class ErrorReportLatestApi(APIView):
    """The newest reports first (Viewers): ``limit`` up to 1000, ``streamId``, ``errorType``
    and ``since`` (ISO 8601) filters."""

    permission_classes = [IsViewer]

    @extend_schema(parameters=[LatestQuerySerializer], responses=LatestSerializer)
    def get(self, request: Request) -> Response:
        query = LatestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        reports = selectors.report_list(
            stream_id=params.get("streamId", ""),
            error_type=params.get("errorType", ""),
            since=params.get("since"),
            limit=params["limit"],
        )
        return Response(
            {"limit": params["limit"], "results": ReportOutputSerializer(reports, many=True).data}
        )
