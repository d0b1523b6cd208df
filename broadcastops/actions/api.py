"""REST API of the audit trail: every action, one action and its progress.

Operators and Admins read it (an Operator follows the action an endpoint just began);
Viewers and users without a role get 403. ``/api/v1/audit/`` is the older name of the same
list and entries, kept for existing clients.
"""

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response

from broadcastops.actions import selectors
from broadcastops.actions.models import OperatorAction
from broadcastops.masking import secrets_hide
from broadcastops.rest import IsOperator


class ProgressLineOutput(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True)
    step = serializers.CharField(help_text="In the reader's language (Accept-Language)")


class ActionOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    kind = serializers.CharField(source="action")
    status_display = serializers.CharField(source="get_status_display")
    progress = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()

    class Meta:
        model = OperatorAction
        fields = [
            "id",
            "url",
            "kind",
            "action",
            "actor_name",
            "origin",
            "origin_ref",
            "target_type",
            "target_id",
            "target_name",
            "params",
            "status",
            "status_display",
            "progress",
            "request_ids",
            "outcome",
            "outcome_code",
            "result",
            "attempts",
            "created_at",
            "finished_at",
        ]

    def get_url(self, obj: OperatorAction) -> str:
        return action_url(obj)

    @extend_schema_field(ProgressLineOutput(many=True))
    def get_progress(self, obj: OperatorAction) -> list[dict[str, Any]]:
        return list(ProgressLineOutput(selectors.action_progress_lines(obj), many=True).data)

    def get_outcome(self, obj: OperatorAction) -> str:
        return selectors.action_outcome(obj)

    def to_representation(self, instance: OperatorAction) -> dict[str, Any]:
        # The parameters asked for and the result as stored, with no secret in them.
        data = super().to_representation(instance)
        data["params"] = secrets_hide(data["params"])
        data["result"] = secrets_hide(data["result"])
        return data


def action_url(action: OperatorAction) -> str:
    return reverse("action-detail", kwargs={"pk": action.pk})


def action_accepted(action: OperatorAction, **extra: Any) -> Response:
    """The answer to an endpoint that began an action: 202 with the action and a Location
    to follow it (200 when it ended already, e.g. nothing to change)."""
    body = {**ActionOutput(action).data, **extra}
    running = action.status == OperatorAction.Status.RUNNING
    return Response(body, status=202 if running else 200, headers={"Location": action_url(action)})


class ActionListApi(generics.ListAPIView):
    """Every operator action, newest first: who, from where, what, when, progress, outcome."""

    permission_classes = [IsOperator]
    serializer_class = ActionOutput
    filterset_fields = ["action", "target_type", "target_id", "status", "origin"]

    def get_queryset(self) -> QuerySet[OperatorAction]:
        return selectors.action_list()


class ActionDetailApi(generics.RetrieveAPIView):
    """One action: its status, progress lines and outcome (follow a running one here)."""

    permission_classes = [IsOperator]
    serializer_class = ActionOutput

    def get_queryset(self) -> QuerySet[OperatorAction]:
        return selectors.action_list()


@extend_schema_view(get=extend_schema(deprecated=True, description="Use /api/v1/actions/."))
class AuditListApi(ActionListApi):
    """The audit trail under its older name: the same as /api/v1/actions/."""


@extend_schema_view(get=extend_schema(deprecated=True, description="Use /api/v1/actions/<id>/."))
class AuditDetailApi(ActionDetailApi):
    """One entry under its older name: the same as /api/v1/actions/<id>/."""
