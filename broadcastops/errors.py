"""Application errors.

Services raise these; the REST exception handler, the admin, commands, Slack and the MCP
server render them. Each carries a stable machine ``code``, a message a person understands,
and optional structured ``detail``.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as StrOrPromise
else:
    StrOrPromise = str  # a message may be a lazy translation


class ApplicationError(Exception):
    """An error the user can act on. Rendered as ``{"code", "message", "detail"}``."""

    status_code = 400
    code = "invalid"

    def __init__(
        self, message: StrOrPromise, *, code: str | None = None, detail: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.detail = detail if detail is not None else {}


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "invalid"


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


class Conflict(ApplicationError):
    """The resource is not in a state that allows the change (or another change is running)."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(ApplicationError):
    status_code = 413
    code = "payload_too_large"


class UpstreamUnavailable(ApplicationError):
    """A cloud or another outside service could not be reached or refused transiently."""

    status_code = 503
    code = "upstream_unavailable"
