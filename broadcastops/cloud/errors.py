"""One error type per failure class, for every cloud.

Gateways raise only these. ``CloudTransientError`` is worth retrying later (throttled, 5xx,
timeout, unreachable); ``CloudPermanentError`` is not (auth, not found, invalid, wrong state).
Each keeps the vendor's code, message and request id for the audit trail and the operator.
"""


class CloudError(Exception):
    """Base of every cloud failure."""

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        code: str = "",
        request_id: str = "",
        action: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.code = code
        self.request_id = request_id
        self.action = action

    def __str__(self) -> str:
        parts = [f"{self.vendor} {self.action}".strip() + ":", self.code, self.message]
        if self.request_id:
            parts.append(f"(request {self.request_id})")
        return " ".join(p for p in parts if p)


class CloudTransientError(CloudError):
    """Throttled, 5xx, timeout or unreachable: the same call may succeed later."""


class CloudRateLimited(CloudTransientError):
    """The cloud (or our own client-side limiter) refused the call for its rate."""


class CloudUnreachable(CloudTransientError):
    """No answer: connection refused, timeout, DNS, TLS, or an HTTP error without a body."""


class CloudPermanentError(CloudError):
    """Retrying the same call will fail the same way."""


class CloudAuthError(CloudPermanentError):
    """Credentials missing, wrong, expired, or the action is denied (CAM / IAM)."""


class CloudNotFound(CloudPermanentError):
    """The resource does not exist (or not in this region / account)."""


class CloudInvalidRequest(CloudPermanentError):
    """The cloud rejected a parameter."""


class CloudStateError(CloudPermanentError):
    """The resource is not in a state that allows the action (running, not idle, ...)."""


class CloudQuotaExceeded(CloudPermanentError):
    """An account quota is exhausted."""


class NotPublishingError(CloudStateError):
    """IVS refused replication because the source participant is not publishing."""
