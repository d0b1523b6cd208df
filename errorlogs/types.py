"""Value types of player error reports, shared by the validation, the writer and the services."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Report:
    """One report, validated and ready to keep (a row, a JSON Lines line)."""

    report_id: uuid.UUID
    received_at: datetime
    timestamp_sent: str  # the player's own ``timestamp``, kept as sent in the file
    client_timestamp: datetime | None
    stream_id: str
    error_type: str
    error_type_sent: str  # the player's value when it is not one of ErrorType
    error_message: str
    status_code: int | None
    whep_url: str
    whep_host: str
    user_agent: str
    browser_name: str
    browser_version: str
    os: str
    screen_resolution: str
    client_address: str
    client_key: str
    fingerprint: str

    @property
    def scope_key(self) -> str:
        """The incident scope: the MediaMTX server, or the stream when the URL names none."""
        return f"host:{self.whep_host}" if self.whep_host else f"stream:{self.stream_id}"

    def line(self, *, received_at: str | None = None) -> dict[str, Any]:
        """The report in the shape the player sent it, plus what the server adds
        (``received_at``: ``received_text(self.received_at)``, when the caller has it)."""
        line: dict[str, Any] = {
            "timestamp": self.timestamp_sent,
            "receivedAt": received_text(self.received_at) if received_at is None else received_at,
            "reportId": str(self.report_id),
            "streamId": self.stream_id,
            "errorType": self.error_type,
            "errorMessage": self.error_message,
            "statusCode": self.status_code,
            "whepUrl": self.whep_url,
            "userAgent": self.user_agent,
            "clientInfo": {
                "browserName": self.browser_name,
                "browserVersion": self.browser_version,
                "os": self.os,
                "screenResolution": self.screen_resolution,
            },
            "clientAddress": self.client_address,
        }
        if self.error_type_sent:
            line["errorTypeSent"] = self.error_type_sent
        return line


def received_text(at: datetime) -> str:
    """A receive time as the lines give it: ISO 8601, milliseconds, ``Z`` for UTC."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Client:
    """Who sent a request, as far as the server can tell."""

    address: str  # the whole address: the throttle's key, never stored as is unless allowed
    origin: str = ""
