"""Wire formats shared by the simulated vendors and the fault injector."""

import json
import uuid

# Tencent: every API-level outcome is HTTP 200 with exactly this Content-Type, or the SDK
# silently accepts an error envelope as a success (reference/tencent-media-api.md 1.4).
TENCENT_CONTENT_TYPE = "application/json"

# IVS error types and their documented HTTP statuses (reference/aws-ivs-realtime.md).
IVS_ERROR_STATUS = {
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "PendingVerification": 403,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "ServiceQuotaExceededException": 402,
    "InternalServerException": 500,
    "ThrottlingException": 429,
}


def new_request_id() -> str:
    return str(uuid.uuid4())


def tencent_success(fields: dict) -> dict:
    return {"Response": {**fields, "RequestId": new_request_id()}}


def tencent_error(code: str, message: str) -> dict:
    return {
        "Response": {"Error": {"Code": code, "Message": message}, "RequestId": new_request_id()}
    }


class TencentApiError(Exception):
    """Raised inside the Tencent simulator; rendered as an HTTP 200 error envelope."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class IvsApiError(Exception):
    """Raised inside the IVS simulator; rendered with the real status and ``exceptionMessage``."""

    def __init__(self, error_type: str, message: str):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.status = IVS_ERROR_STATUS.get(error_type, 400)


def ivs_error_response(error_type: str, message: str) -> tuple[int, dict, bytes]:
    """Status, headers and body of an IVS error as the real service sends it."""
    status = IVS_ERROR_STATUS.get(error_type, 400)
    headers = {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": new_request_id()}
    # The model's error shapes carry `exceptionMessage`, not `message`.
    return status, headers, json.dumps({"exceptionMessage": message}).encode()
