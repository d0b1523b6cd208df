"""Slack's two endpoints: the slash command and the interactions (buttons, menus).

Slack signs every request; that signature (``assistant.slack.security``) is the
authentication, checked before anything else, so no console user signs in here. Both answer
within Slack's 3 seconds: the command with the dashboard (or a channel's status), an
interaction with an empty 200 once its row is written; the rest goes to ``response_url``
from a Celery task.
"""

from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.slack.handlers import slack_command_answer, slack_interaction_accept
from assistant.slack.security import slack_request_verify


class _SlackSigned(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    def get_authenticate_header(self, request: Request) -> str:
        # DRF answers 403 to a refused authentication unless there is a scheme to name;
        # this one is Slack's signature headers (401, as Slack's docs expect).
        return 'X-Slack-Signature realm="slack"'


def _verified_form(request: Request) -> tuple[QueryDict, bool]:
    body = request.body  # the raw bytes, as Slack signed them (read before any parsing)
    verified = slack_request_verify(body=body, headers=request.headers)
    return QueryDict(body), verified.repeat


class SlackCommandsApi(_SlackSigned):
    """The slash command (``SLACK_COMMAND_NAME``, /tencent): the dashboard, for the one who
    asked; with a channel's name after it, that channel's status."""

    @extend_schema(
        request={"application/x-www-form-urlencoded": dict[str, Any]},
        responses={200: OpenApiResponse(description="A Slack message (Block Kit)")},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        form, _repeat = _verified_form(request)
        return Response(
            slack_command_answer(
                slack_user_id=form.get("user_id", ""),
                user_name=form.get("user_name", ""),
                text=form.get("text", ""),
            )
        )


class SlackInteractionsApi(_SlackSigned):
    """Buttons and menus of the assistants' messages: taken on once, answered through
    ``response_url``; a retried delivery is acknowledged and not acted on again."""

    @extend_schema(
        request={"application/x-www-form-urlencoded": dict[str, Any]},
        responses={200: OpenApiResponse(description="Empty: the answer follows")},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        form, repeat = _verified_form(request)
        if not repeat:
            slack_interaction_accept(raw_payload=form.get("payload", ""))
        return Response(status=200)
