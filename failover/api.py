"""REST API of the failover audit: viewers read the audit; operators plan and apply fixes."""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.actions.api import ActionOutput, action_accepted
from broadcastops.actions.models import Origin
from broadcastops.actions.types import Actor
from broadcastops.errors import ValidationFailed
from broadcastops.inventory.selectors import channel_get
from broadcastops.rest import IsOperator, IsViewer
from failover import selectors, services
from failover.audit import DEFAULT_LOSS_THRESHOLD_MS, DEFAULT_RECOVER_BEHAVIOR, RECOVER_BEHAVIORS
from failover.models import FailoverAudit, Verdict


class AuditOutput(serializers.ModelSerializer):
    channel_id = serializers.CharField(source="channel.cloud_id")
    channel = serializers.CharField(source="channel.name")
    state = serializers.CharField(source="channel.state")
    protected = serializers.BooleanField()
    reason = serializers.CharField(source="reason_message")
    primary_input_id = serializers.SerializerMethodField()
    backup_input_id = serializers.SerializerMethodField()
    mapping = serializers.SerializerMethodField()
    inputs = serializers.SerializerMethodField()
    causes = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()

    class Meta:
        model = FailoverAudit
        fields = [
            "channel_id",
            "channel",
            "state",
            "verdict",
            "protected",
            "reason",
            "primary_input_id",
            "backup_input_id",
            "mapping",
            "inputs",
            "causes",
            "steps",
            "notes",
            "audited_at",
            "changed_at",
        ]

    def get_primary_input_id(self, obj: FailoverAudit) -> str:
        return obj.report.get("primary_input_id", "")

    def get_backup_input_id(self, obj: FailoverAudit) -> str:
        return obj.report.get("backup_input_id", "")

    # The report's sentences are stored as codes: rendered in the request's language.
    def get_mapping(self, obj: FailoverAudit) -> dict[str, Any]:
        return obj.report_rendered()["mapping"]

    def get_inputs(self, obj: FailoverAudit) -> list[Any]:
        return obj.report_rendered()["inputs"]

    def get_causes(self, obj: FailoverAudit) -> list[Any]:
        return obj.report_rendered()["causes"]

    def get_steps(self, obj: FailoverAudit) -> list[Any]:
        return obj.report_rendered()["steps"]

    def get_notes(self, obj: FailoverAudit) -> list[Any]:
        return obj.report_rendered()["notes"]


class AuditListApi(generics.ListAPIView):
    """The last audited failover verdict of every channel (``?verdict=``, ``?unprotected=``)."""

    permission_classes = [IsViewer]
    serializer_class = AuditOutput

    def get_queryset(self) -> QuerySet[FailoverAudit]:
        verdict = self.request.query_params.get("verdict", "")
        if verdict and verdict not in Verdict.values:
            raise ValidationFailed(
                _("Unknown verdict “%(verdict)s”.") % {"verdict": verdict},
                detail={"verdicts": Verdict.values},
            )
        raw = self.request.query_params.get("unprotected", "")
        unprotected = {"true": True, "1": True, "false": False, "0": False}.get(raw.lower())
        return selectors.failover_audit_list(verdict=verdict, unprotected=unprotected)


class AuditDetailApi(APIView):
    permission_classes = [IsViewer]

    @extend_schema(responses=AuditOutput)
    def get(self, request: Request, key: str) -> Response:
        channel = channel_get(key=key)
        audit = selectors.failover_audit_get(channel=channel)
        if audit is None:
            status = selectors.failover_verdict_get(channel=channel)
            return Response(
                {
                    "channel_id": channel.cloud_id,
                    "channel": channel.name,
                    "verdict": status.verdict,
                    "protected": status.protected,
                    "reason": str(status.reason),
                    "steps": [str(s) for s in status.steps],
                    "audited_at": None,
                }
            )
        return Response(AuditOutput(audit).data)


class PlanInput(serializers.Serializer):
    secondary_input_id = serializers.CharField(required=False, allow_blank=True, default="")
    primary_input_id = serializers.CharField(required=False, allow_blank=True, default="")
    loss_threshold_ms = serializers.IntegerField(required=False, default=DEFAULT_LOSS_THRESHOLD_MS)
    recover_behavior = serializers.ChoiceField(
        choices=RECOVER_BEHAVIORS, required=False, default=DEFAULT_RECOVER_BEHAVIOR
    )


class ApplyInput(PlanInput):
    confirm = serializers.BooleanField()
    allow_stop_start = serializers.BooleanField(required=False, default=False)
    override = serializers.BooleanField(required=False, default=False)

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Send confirm: true to apply the fix.")
        return value


def _validated(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    data = serializer_class(data=request.data)
    if not data.is_valid():
        raise ValidationFailed(
            "The request is not valid; see detail for each field.", detail=data.errors
        )
    return data.validated_data


def _plan_params(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "secondary_input_id": data["secondary_input_id"] or None,
        "primary_input_id": data["primary_input_id"] or None,
        "loss_threshold_ms": data["loss_threshold_ms"],
        "recover_behavior": data["recover_behavior"],
    }


class FailoverPlanApi(APIView):
    """The repair as FailOverSettings before/after per input, from a fresh read (no change)."""

    permission_classes = [IsOperator]

    @extend_schema(request=PlanInput, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, key: str) -> Response:
        data = _validated(PlanInput, request)
        channel = channel_get(key=key)
        plan = services.failover_plan(channel=channel, **_plan_params(data))
        return Response(plan.to_dict())


class FailoverApplyApi(APIView):
    """Apply the repair: 202 with the action that sends and verifies it (its ``result``:
    verified or pending); 200 when there is nothing to change. 409 ``stop_start_required``:
    repeat with ``allow_stop_start: true`` to stop, modify and start the channel."""

    permission_classes = [IsOperator]

    @extend_schema(request=ApplyInput, responses={202: ActionOutput, 200: ActionOutput})
    def post(self, request: Request, key: str) -> Response:
        data = _validated(ApplyInput, request)
        channel = channel_get(key=key)
        action = services.failover_apply(
            channel=channel,
            actor=Actor.of(request.user, Origin.API),
            allow_stop_start=data["allow_stop_start"],
            override=data["override"],
            **_plan_params(data),
        )
        return action_accepted(action)
