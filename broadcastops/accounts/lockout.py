"""Failed sign-ins: what a locked-out person is told (django-axes counts and locks).

Axes counts failed sign-ins per user name and address (``AXES_LOCKOUT_PARAMETERS``) in the
database, so the limit holds in both modes and across processes; after
``LOGIN_FAILURE_LIMIT`` failures that pair is refused for ``LOGIN_LOCKOUT_MINUTES``, even
with the right password, until the time runs out or an Admin unlocks it (admin → Sign-in
attempts → *Unlock*). The admin's login page and the token endpoint answer with the same
message; under ``/api/`` it is the JSON error body.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from broadcastops.errors import ApplicationError
from broadcastops.rest import error_body


def lockout_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message() -> str:
    minutes = lockout_minutes()
    return ngettext(
        "Too many failed sign-ins with this user name from your address. Try again in "
        "%(minutes)d minute, or ask an administrator to unlock the account.",
        "Too many failed sign-ins with this user name from your address. Try again in "
        "%(minutes)d minutes, or ask an administrator to unlock the account.",
        minutes,
    ) % {"minutes": minutes}


class LoginLockedOut(ApplicationError):
    status_code = 429
    code = "locked_out"


def login_locked_out_error() -> LoginLockedOut:
    return LoginLockedOut(lockout_message(), detail={"retry_after_s": lockout_minutes() * 60})


def lockout_response(request: HttpRequest, *args: object) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: axes calls it with (request, response, credentials)."""
    error = login_locked_out_error()
    headers = {"Retry-After": str(error.detail["retry_after_s"])}
    if request.path.startswith("/api/"):
        body = error_body(error.code, error.message, error.detail)
        return JsonResponse(body, status=error.status_code, headers=headers)
    response = render(
        request,
        "accounts/locked_out.html",
        {"title": error.message, "message": error.message},
        status=error.status_code,
    )
    response["Retry-After"] = headers["Retry-After"]
    return response
