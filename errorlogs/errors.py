"""The refusals of a report, as ``broadcastops.errors`` application errors."""

from broadcastops.errors import ApplicationError, ValidationFailed


class ReportInvalid(ValidationFailed):
    """Not JSON, not UTF-8, the wrong shape, a field too long: nothing of the request is kept."""

    code = "invalid_report"


class UnsupportedMediaType(ApplicationError):
    status_code = 415
    code = "unsupported_media_type"


class OriginNotAllowed(ApplicationError):
    """A page of an origin that is not in ``CORS_ALLOWED_ORIGINS`` (nor the console's own)."""

    status_code = 403
    code = "origin_not_allowed"


class _SendAgainLater(ApplicationError):
    """Nothing of the request was kept: send it again after ``retry_after_s`` (the answer's
    ``Retry-After`` and ``detail.retry_after_s``)."""

    retry_after_default_s = 5

    def __init__(self, message: str, *, retry_after_s: int | None = None) -> None:
        retry_after_s = self.retry_after_default_s if retry_after_s is None else retry_after_s
        super().__init__(message, detail={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class Throttled(_SendAgainLater):
    """Past the address's throttle (``errorlogs.throttle``)."""

    status_code = 429
    code = "throttled"


class ReportsUnavailable(_SendAgainLater):
    """The reports could not be kept now (the web process stops, too many wait, a write
    failed)."""

    status_code = 503
    code = "reports_unavailable"
