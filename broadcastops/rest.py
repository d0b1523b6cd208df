"""REST conventions shared by every app: error rendering, pagination, role permissions."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.errors import ApplicationError, StrOrPromise
from broadcastops.masking import secrets_mask

logger = logging.getLogger(__name__)


def error_body(code: str, message: StrOrPromise, detail: Any = None) -> dict[str, Any]:
    return {"code": code, "message": str(message), "detail": detail if detail is not None else {}}


def _drf_message(exc: exceptions.APIException) -> tuple[StrOrPromise, object]:
    detail = exc.detail
    if isinstance(detail, dict | list):
        if isinstance(exc, exceptions.ValidationError):
            return _("The request is not valid; see detail for each field."), detail
        return str(exc.default_detail), detail
    return str(detail), {}


def _request_body_error(exc: Exception) -> Response | None:
    """Django's refusals of a request body, which it would answer with an HTML page."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = _("The form data is larger than the %(limit)s this address accepts.") % {
            "limit": filesizeformat(limit)
        }
        return Response(
            error_body("payload_too_large", message, {"limit_bytes": limit}),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        message = _("The request has more form fields or files than this address accepts.")
        return Response(error_body("too_many_fields", message), status=400)
    if isinstance(exc, UnreadablePostError):
        # The client went away mid-body (or past its route's limit): one line, no traceback.
        logger.warning("Request body unreadable: %s", exc)
        message = _("The request body could not be read to its end; send it again.")
        return Response(error_body("body_unreadable", message), status=400)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error as ``{"code", "message", "detail"}`` with the right status."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.detail), status=exc.status_code)
    refusal = _request_body_error(exc)
    if refusal is not None:
        return refusal
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    assert isinstance(exc, exceptions.APIException)  # DRF's handler answers only these
    message, detail = _drf_message(exc)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if not isinstance(code, str):
        code = getattr(exc, "default_code", "invalid")
    response.data = error_body(code, message, detail)
    return response


def api_not_found(
    request: HttpRequest, exception: Exception | None = None, rest: str = ""
) -> HttpResponse:
    """JSON 404 for unknown URLs under /api/ (in DEBUG too, through a catch-all route)."""
    if not request.path.startswith("/api/"):
        from django.views.defaults import page_not_found

        return page_not_found(request, exception)
    detail = {}
    if not request.path.endswith("/"):
        try:
            if resolve(request.path + "/").func is not api_not_found:
                detail["did_you_mean"] = request.path + "/"
        except Resolver404:
            pass
    body = error_body(
        "not_found", _("No API endpoint at %(path)s.") % {"path": request.path}, detail
    )
    return JsonResponse(body, status=status.HTTP_404_NOT_FOUND)


def api_server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = error_body("server_error", _("Something went wrong on our side; it was logged."))
        return JsonResponse(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    from django.views.defaults import server_error

    return server_error(request)


class StreamUrlField(serializers.CharField):
    """A push URL: whole for Operators and Admins, its stream key masked for everyone else
    (``broadcastops.masking``). Masked too when the serializer has no request to ask."""

    def to_representation(self, value: Any) -> str:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        text = super().to_representation(value)
        if user is not None and user_has_role(user, Role.OPERATOR):
            return text
        return secrets_mask(text)


# Every operation may answer these, always with the error body; the schema says so.
_ERROR_STATUSES = {
    "400": "The request is not valid (see detail for each field).",
    "401": "No valid credentials: sign in or send Authorization: Token <key>.",
    "403": "The account lacks the role this needs.",
    "404": "No such resource or endpoint.",
    "405": "The method is not allowed here.",
    "406": "No answer in the media type the Accept header asks for.",
    "409": "The resource is busy or not in a state that allows this.",
    "413": "The body is too large.",
    "415": "The body's media type is not accepted.",
    "429": "Too many requests, or too many failed sign-ins.",
    "503": "A cloud or service this needs cannot be reached.",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "detail"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "detail": {"description": "Structured detail: fields and their errors, ids."},
    },
}


def schema_error_responses(
    result: dict[str, Any], generator: object, request: object, public: bool
) -> dict[str, Any]:
    """drf-spectacular hook: document the error body for every operation's error statuses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status_code, description in _ERROR_STATUSES.items():
                responses.setdefault(status_code, {"description": description, "content": error})
    return result


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 1000


class HasRole(BasePermission):
    """Allow users holding ``role`` or a higher one (Viewer < Operator < Admin)."""

    role = Role.VIEWER

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated) and user_has_role(
            request.user, self.role
        )


class IsViewer(HasRole):
    role = Role.VIEWER


class IsOperator(HasRole):
    role = Role.OPERATOR


class IsAdmin(HasRole):
    role = Role.ADMIN


class ViewerReadsOperatorWrites(BasePermission):
    """Viewers may read; changing anything takes an Operator."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        needed = Role.VIEWER if request.method in SAFE_METHODS else Role.OPERATOR
        return user_has_role(request.user, needed)
