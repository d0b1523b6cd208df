"""The IVS real-time REST API ("ivs-realtime", 2020-07-14) as boto3 calls it.

rest-json: every operation is ``POST /<OperationName>`` with a JSON body, SigV4-signed with the
signing name ``ivs``. Responses follow the botocore model exactly (required list members always
present, ids in the real formats); errors are raised as ``IvsApiError`` and rendered by the
server with the real status (402 for quotas), ``x-amzn-ErrorType`` and ``exceptionMessage``.
Facts and their confidence: ``/work/shared/reference/aws-ivs-realtime.md`` (the fact sheet).

Scenario (``scenario["ivs"]``, every key optional)::

    {"stages": [<Stage as GetStage returns it>, ...],   # existing stages (arn generated if absent)
     "_comment": "...",                                 # keys starting with _ are ignored
     "region": "ap-northeast-2", "account_id": "123456789012",
     "not_publishing_error": "ConflictException",      # or "ValidationException" (unconfirmed)
     "max_stages": 1000, "max_publishers_per_stage": 12,
     "max_participants_per_stage": 10000, "max_replications_per_participant": 5}

Control verbs (``POST /_sim/ivs/<verb>``), standing in for clients of the web broadcast SDK:

* ``join`` ``{"stage_arn", "user_id", "participant_id" | "token" (optional), "publish"}`` ->
  ``{"participantId", "sessionId", "publishing"}``; without a participant id or token the
  simulator issues a token itself, as CreateParticipantToken would.
* ``publish`` ``{"participant_id", "publishing": bool}``; ``leave`` ``{"participant_id"}``.
* ``config`` ``{<any scenario key but stages>}``: change a limit or the not-publishing error.
* ``clock`` ``{"advance_s"}``: move simulated time forward, so a reconnect window runs out
  without a test sleeping through it (``POST /_sim/clock`` moves it too, with Tencent's).
* ``state`` ``{}``: every stage, session, participant and replication (for debugging).

Choices where the real service is undocumented (fact sheet §12), kept in one place:

* A session starts when the first participant joins and ends as soon as the last one leaves
  (the docs say "a few minutes" later; nothing here depends on the delay).
* A source that stops publishing (unpublish, leave, disconnect, stage deleted) ends its
  replications after ``reconnectWindowSeconds``: at once for 0, else when the window expires
  without the source publishing again (checked on every request). During the window the replica
  stays CONNECTED and the replication ACTIVE.
* Only a participant that joined with its own token can be replicated (no chaining of replicas);
  replicating into the source stage is a ValidationException; a duplicate Start is a
  ConflictException; Stop of a replication that is not ACTIVE is a ResourceNotFoundException.
* List* on an unknown (or deleted) stage answer ResourceNotFoundException; on an unknown session
  of a known stage they answer an empty list.
* DisconnectParticipant of a replica in its destination stage stops that replication.
* ListParticipantEvents returns newest first, as the documentation's example does.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import random
import re
import string
import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import TYPE_CHECKING, Any

from broadcastops.cloud.simulator.wire import IvsApiError

if TYPE_CHECKING:
    from broadcastops.cloud.simulator.server import SimOptions

logger = logging.getLogger(__name__)

ALNUM = string.ascii_letters + string.digits
STAGE_ARN_RE = r"arn:aws:ivs:[a-z0-9-]+:[0-9]+:stage/[a-zA-Z0-9-]+"
SESSION_ID_RE = r"st-[a-zA-Z0-9]+"
PARTICIPANT_ID_RE = r"[a-zA-Z0-9-_]*"
STAGE_NAME_RE = r"[a-zA-Z0-9-_]*"
NEXT_PAGE_RE = r"[a-zA-Z0-9+/=_-]*"
STORAGE_ARN_RE = r"^$|^arn:aws:ivs:[a-z0-9-]+:[0-9]+:storage-configuration/[a-zA-Z0-9-]+$"
CAPABILITIES = ("PUBLISH", "SUBSCRIBE")
PARTICIPANT_STATES = ("CONNECTED", "DISCONNECTED")
RECORDING_FILTER_STATES = ("STARTING", "ACTIVE", "STOPPING", "STOPPED", "FAILED")
MEDIA_TYPES = ("AUDIO_VIDEO", "AUDIO_ONLY", "NONE")
NOT_PUBLISHING_ERRORS = ("ConflictException", "ValidationException", "ResourceNotFoundException")
# Real tokens are JWTs signed by KMS: they start with this header (fact sheet §3).
TOKEN_HEADER = {"alg": "KMS", "typ": "JWT"}
# The security headers StartParticipantReplication's output maps (fact sheet §3, CLI example).
SECURITY_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Access-Control-Allow-Origin",
    "Cache-Control": "no-store, no-cache",
    "Content-Security-Policy": "default-src 'self'; upgrade-insecure-requests;",
    "Strict-Transport-Security": "max-age:47304000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
DEFAULTS = {
    "region": "ap-northeast-2",
    # The not-publishing refusal's error type is undocumented (fact sheet §3): ConflictException
    # reads as "wrong state", which the refusal is; ValidationException is the other candidate.
    "not_publishing_error": "ConflictException",
    "max_stages": 1000,
    "max_publishers_per_stage": 12,
    "max_participants_per_stage": 10000,
    "max_replications_per_participant": 5,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _invalid(field_name: str, value: object, constraint: str) -> IvsApiError:
    # The wording of AWS's own validation messages.
    shown = value if isinstance(value, str | int) else json.dumps(value)
    return IvsApiError(
        "ValidationException",
        f"1 validation error detected: Value '{shown}' at '{field_name}' failed to satisfy "
        f"constraint: {constraint}",
    )


@dataclass
class _Token:
    participant_id: str
    stage_arn: str
    user_id: str
    attributes: dict
    capabilities: list
    duration: int
    expiration: datetime
    token: str


@dataclass
class _Participant:
    participant_id: str
    user_id: str
    attributes: dict
    capabilities: list
    first_join_time: datetime
    state: str = "CONNECTED"
    published: bool = False  # ever published in this session (the model's meaning)
    publishing: bool = False  # publishing now (what replication needs)
    replication_type: str = "NONE"
    replication_state: str | None = None
    source_stage_arn: str | None = None
    source_session_id: str | None = None
    protocol: str = "UNKNOWN"
    events: list = field(default_factory=list)

    @property
    def is_replica(self) -> bool:
        return self.replication_type == "REPLICA"

    def summary(self) -> dict:
        item = {
            "participantId": self.participant_id,
            "userId": self.user_id,
            "state": self.state,
            "firstJoinTime": _iso(self.first_join_time),
            "published": self.published,
            "recordingState": "DISABLED",
            "replicationType": self.replication_type,
            "redundantIngest": False,
        }
        if self.replication_state:
            item["replicationState"] = self.replication_state
        if self.source_stage_arn:
            item["sourceStageArn"] = self.source_stage_arn
            item["sourceSessionId"] = self.source_session_id
        return item

    def detail(self) -> dict:
        return {**self.summary(), "attributes": dict(self.attributes), "protocol": self.protocol}


@dataclass
class _Session:
    session_id: str
    start_time: datetime
    end_time: datetime | None = None
    participants: dict[str, _Participant] = field(default_factory=dict)

    def connected(self) -> list[_Participant]:
        return [p for p in self.participants.values() if p.state == "CONNECTED"]

    def as_dict(self) -> dict:
        item = {"sessionId": self.session_id, "startTime": _iso(self.start_time)}
        if self.end_time is not None:
            item["endTime"] = _iso(self.end_time)
        return item


@dataclass
class _Stage:
    arn: str
    name: str
    tags: dict
    endpoints: dict
    recording: dict
    active: _Session | None = None
    sessions: list[_Session] = field(default_factory=list)

    def summary(self) -> dict:
        item = {"arn": self.arn, "name": self.name, "tags": dict(self.tags)}
        if self.active is not None:
            item["activeSessionId"] = self.active.session_id
        return item

    def detail(self) -> dict:
        return {
            **self.summary(),
            "autoParticipantRecordingConfiguration": json.loads(json.dumps(self.recording)),
            "endpoints": dict(self.endpoints),
        }

    def session(self, session_id: str) -> _Session | None:
        return next((s for s in self.sessions if s.session_id == session_id), None)


@dataclass
class _Replication:
    source_stage_arn: str
    participant_id: str
    source_session_id: str
    destination_stage_arn: str
    destination_session_id: str
    reconnect_window_s: int
    attributes: dict
    state: str = "ACTIVE"
    grace_deadline: float | None = None  # monotonic; set while the source is away

    def as_dict(self) -> dict:
        return {
            "sourceStageArn": self.source_stage_arn,
            "participantId": self.participant_id,
            "sourceSessionId": self.source_session_id,
            "destinationStageArn": self.destination_stage_arn,
            "destinationSessionId": self.destination_session_id,
            "replicationState": self.state,
        }


class IvsSimulator:
    """Stages, sessions, participants and replications of one simulated account."""

    def __init__(self, scenario: dict, options: "SimOptions") -> None:
        self.options = options
        self.lock = threading.RLock()
        self._random = random.Random(f"ivs-{getattr(options, 'seed', 7)}")
        self._signing_key = self._random.randbytes(32)
        section = dict((scenario or {}).get("ivs") or {})
        settings = {k: v for k, v in section.items() if not k.startswith("_")}  # "_comment"
        unknown = set(settings) - set(DEFAULTS) - {"stages", "account_id"}
        if unknown:
            raise ValueError(f"unknown keys in scenario ivs: {sorted(unknown)}")
        self.config = {**DEFAULTS, **{k: v for k, v in settings.items() if k != "stages"}}
        self._check_config()
        self.account_id = str(
            section.get("account_id") or "".join(self._random.choices(string.digits, k=12))
        )
        self.stages: dict[str, _Stage] = {}
        self.tokens: dict[str, _Token] = {}
        self.replications: list[_Replication] = []
        self._last_event_time = _now()
        self._clock_offset_s = 0.0  # ``clock`` moves the reconnect windows' time forward
        for stage in section.get("stages") or []:
            self._load_stage(stage)

    def _monotonic(self) -> float:
        return time.monotonic() + self._clock_offset_s

    # --- identifiers ----------------------------------------------------------------------
    def _alnum(self, length: int) -> str:
        return "".join(self._random.choices(ALNUM, k=length))

    def _hex(self, length: int) -> str:
        return "".join(self._random.choices("0123456789abcdef", k=length))

    def _new_participant_id(self) -> str:
        while True:
            candidate = self._alnum(12)
            if candidate not in self.tokens:
                return candidate

    def _new_session(self, stage: _Stage) -> _Session:
        # Exactly 16 chars: botocore refuses shorter session ids client-side (fact sheet §2).
        session = _Session(session_id="st-" + self._alnum(13), start_time=_now())
        stage.active = session
        stage.sessions.append(session)
        logger.debug("ivs sim: session %s started on %s", session.session_id, stage.arn)
        return session

    def _endpoints(self) -> dict:
        whip_id, ingest_id = self._hex(12), self._hex(12)
        return {
            "events": "wss://global.events.live-video.net",
            "whip": f"https://{whip_id}.global-bm.whip.live-video.net",
            "rtmp": f"rtmp://{ingest_id}.global-contribute.live-video.net:1935/app/",
            "rtmps": f"rtmps://{ingest_id}.global-contribute.live-video.net:443/app/",
        }

    def _event_time(self) -> datetime:
        # Strictly increasing, so "the latest PUBLISH_* event" is never a tie.
        moment = max(_now(), self._last_event_time + timedelta(microseconds=1))
        self._last_event_time = moment
        return moment

    def _event(self, participant: _Participant, name: str, **extra: Any) -> None:
        event = {
            "name": name,
            "participantId": participant.participant_id,
            "eventTime": _iso(self._event_time()),
            "replica": participant.is_replica,
        }
        event.update({k: v for k, v in extra.items() if v is not None})
        participant.events.append(event)

    def _load_stage(self, raw: dict) -> None:
        if not isinstance(raw, dict):
            raise ValueError("scenario ivs.stages holds Stage objects")
        arn = raw.get("arn") or (
            f"arn:aws:ivs:{self.config['region']}:{self.account_id}:stage/{self._alnum(12)}"
        )
        if not re.fullmatch(STAGE_ARN_RE, arn):
            raise ValueError(f"scenario stage arn {arn!r} is not a stage ARN")
        stage = _Stage(
            arn=arn,
            name=raw.get("name", ""),
            tags=dict(raw.get("tags") or {}),
            endpoints=dict(raw.get("endpoints") or self._endpoints()),
            recording=dict(
                raw.get("autoParticipantRecordingConfiguration") or self._default_recording()
            ),
        )
        if raw.get("activeSessionId"):
            session_id = raw["activeSessionId"]
            if not re.fullmatch(SESSION_ID_RE, session_id) or len(session_id) != 16:
                raise ValueError(f"scenario session id {session_id!r} is not st- + 13 alnum")
            session = _Session(session_id=session_id, start_time=_now())
            stage.active = session
            stage.sessions.append(session)
        self.stages[arn] = stage

    @staticmethod
    def _default_recording() -> dict:
        # What GetStage shows for a stage created without auto-recording (storage ARN "").
        return {
            "storageConfigurationArn": "",
            "mediaTypes": ["AUDIO_VIDEO"],
            "thumbnailConfiguration": {
                "targetIntervalSeconds": 60,
                "storage": ["SEQUENTIAL"],
                "recordingMode": "INTERVAL",
            },
            "recordingReconnectWindowSeconds": 0,
            "hlsConfiguration": {"targetSegmentDurationSeconds": 6},
            "recordParticipantReplicas": True,
        }

    def _check_config(self) -> None:
        if self.config["not_publishing_error"] not in NOT_PUBLISHING_ERRORS:
            raise ValueError(f"not_publishing_error must be one of {NOT_PUBLISHING_ERRORS}")
        for key in DEFAULTS:
            if key.startswith("max_") and (
                not isinstance(self.config[key], int) or self.config[key] < 0
            ):
                raise ValueError(f"{key} must be a non-negative integer")

    # --- the HTTP side --------------------------------------------------------------------
    def handle(self, *, operation: str, body: bytes, headers: Message) -> tuple[int, dict, dict]:
        method = self._operations().get(operation)
        if method is None:
            raise IvsApiError("ValidationException", f"Unsupported operation: {operation}")
        region = self._authenticate(operation, body, headers)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise IvsApiError("ValidationException", "Could not parse the request body") from None
        if not isinstance(params, dict):
            raise IvsApiError("ValidationException", "The request body must be a JSON object")
        with self.lock:
            self._tick()
            payload = method(params, region=region)
        response_headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if operation in ("StartParticipantReplication", "StopParticipantReplication"):
            response_headers.update(SECURITY_HEADERS)
        return 200, response_headers, payload

    def _operations(self) -> dict:
        return {
            "CreateStage": self._create_stage,
            "GetStage": self._get_stage,
            "ListStages": self._list_stages,
            "UpdateStage": self._update_stage,
            "DeleteStage": self._delete_stage,
            "CreateParticipantToken": self._create_participant_token,
            "ListParticipants": self._list_participants,
            "GetParticipant": self._get_participant,
            "ListParticipantEvents": self._list_participant_events,
            "DisconnectParticipant": self._disconnect_participant,
            "StartParticipantReplication": self._start_replication,
            "StopParticipantReplication": self._stop_replication,
            "ListParticipantReplicas": self._list_replicas,
            "ListStageSessions": self._list_stage_sessions,
            "GetStageSession": self._get_stage_session,
        }

    def _authenticate(self, operation: str, body: bytes, headers: Message) -> str:
        """Check the SigV4 signature; return the region of its credential scope."""
        auth = headers.get("Authorization") or ""
        match = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
            r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})",
            auth.strip(),
        )
        if not match:
            raise IvsApiError("AccessDeniedException", "Missing Authentication Token")
        key_id, date, region, service, signed_headers, signature = match.groups()
        # IVS real-time signs with the name "ivs", not "ivs-realtime" (fact sheet §1).
        if service != "ivs":
            raise IvsApiError(
                "AccessDeniedException",
                f"Credential should be scoped to correct service: 'ivs'. (got '{service}')",
            )
        if key_id != self.options.secret_id:
            raise IvsApiError(
                "AccessDeniedException", "The security token included in the request is invalid."
            )
        if not getattr(self.options, "verify_signature", True):
            return region
        amz_date = headers.get("X-Amz-Date") or ""
        canonical_headers = "".join(
            f"{name}:{' '.join((headers.get(name) or '').split())}\n"
            for name in signed_headers.split(";")
        )
        canonical_request = "\n".join(
            [
                "POST",
                f"/{operation}",
                "",
                canonical_headers,
                signed_headers,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{date}/{region}/{service}/aws4_request"
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                amz_date,
                scope,
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        key = _hmac(("AWS4" + self.options.secret_key).encode(), date)
        for part in (region, service, "aws4_request"):
            key = _hmac(key, part)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise IvsApiError(
                "AccessDeniedException",
                "The request signature we calculated does not match the signature you provided.",
            )
        return region

    # --- validation (what botocore does not check client-side: max, pattern, enum) -----------
    def _string(
        self,
        params: dict,
        name: str,
        *,
        required: bool = False,
        max_len: int | None = None,
        pattern: str | None = None,
        exact: int | None = None,
    ) -> str | None:
        value = params.get(name)
        if value is None:
            if required:
                raise _invalid(name, "null", "Member must not be null")
            return None
        if not isinstance(value, str):
            raise _invalid(name, value, "Member must be a string")
        if max_len is not None and len(value) > max_len:
            raise _invalid(name, value, f"Member must have length less than or equal to {max_len}")
        if exact is not None and len(value) != exact:
            raise _invalid(name, value, f"Member must have length equal to {exact}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise _invalid(
                name, value, f"Member must satisfy regular expression pattern: {pattern}"
            )
        return value

    def _required(self, params: dict, name: str, **checks: Any) -> str:
        value = self._string(params, name, required=True, **checks)
        assert value is not None  # required: a missing value raised
        return value

    def _stage_arn(self, params: dict, name: str = "arn") -> str:
        return self._required(params, name, max_len=128, pattern=STAGE_ARN_RE)

    def _session_id(self, params: dict) -> str:
        return self._required(params, "sessionId", exact=16, pattern=SESSION_ID_RE)

    def _participant_id(self, params: dict) -> str:
        return self._required(params, "participantId", max_len=64, pattern=PARTICIPANT_ID_RE)

    def _int(self, params: dict, name: str, *, low: int, high: int, default: int) -> int:
        value = params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(name, value, "Member must be an integer")
        if not low <= value <= high:
            raise _invalid(
                name,
                value,
                f"Member must have value greater than or equal to {low} "
                f"and less than or equal to {high}",
            )
        return value

    def _enum(self, params: dict, name: str, allowed: Collection[str]) -> str | None:
        value = params.get(name)
        if value is not None and value not in allowed:
            raise _invalid(
                name, value, f"Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
        return value

    def _attributes(self, params: dict, name: str = "attributes") -> dict:
        value = params.get(name) or {}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise _invalid(name, value, "Member must be a map of strings to strings")
        # Documented, not modelled: attributes total at most 1 KB.
        if sum(len(k.encode()) + len(v.encode()) for k, v in value.items()) > 1024:
            raise IvsApiError("ValidationException", f"{name} exceed the 1 KB limit")
        return dict(value)

    def _capabilities(self, raw: object, name: str) -> list:
        if raw is None:
            return list(CAPABILITIES)  # the model's default: PUBLISH and SUBSCRIBE
        if not isinstance(raw, list) or len(raw) > 2:
            raise _invalid(name, raw, "Member must have length less than or equal to 2")
        for capability in raw:
            if capability not in CAPABILITIES:
                raise _invalid(
                    name, capability, "Member must satisfy enum value set: [PUBLISH, SUBSCRIBE]"
                )
        return list(dict.fromkeys(raw))

    def _tags(self, params: dict) -> dict:
        value = params.get("tags") or {}
        if not isinstance(value, dict):
            raise _invalid("tags", value, "Member must be a map")
        if len(value) > 50:
            raise _invalid("tags", value, "Member must have length less than or equal to 50")
        for key, tag_value in value.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise _invalid("tags", key, "Tag keys are 1-128 characters and not aws:")
            if not isinstance(tag_value, str) or len(tag_value) > 256:
                raise _invalid("tags", tag_value, "Tag values are strings of at most 256")
        return dict(value)

    def _recording(self, params: dict) -> dict | None:
        raw = params.get("autoParticipantRecordingConfiguration")
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise _invalid("autoParticipantRecordingConfiguration", raw, "Member must be a map")
        self._string(raw, "storageConfigurationArn", required=True, pattern=STORAGE_ARN_RE)
        for media_type in raw.get("mediaTypes") or []:
            self._enum({"mediaTypes": media_type}, "mediaTypes", MEDIA_TYPES)
        if "recordingReconnectWindowSeconds" in raw:
            self._int(raw, "recordingReconnectWindowSeconds", low=0, high=300, default=0)
        recording = {**self._default_recording(), **raw}
        return recording

    def _page(
        self, operation: str, params: dict, items: list, *, max_results_cap: int = 100
    ) -> tuple[list, str | None]:
        limit = self._int(params, "maxResults", low=1, high=max_results_cap, default=50)
        token = self._string(params, "nextToken", max_len=1024, pattern=NEXT_PAGE_RE)
        offset = 0
        if token:
            try:
                prefix, raw_offset = base64.b64decode(token, validate=True).decode().split(":")
                offset = int(raw_offset)
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise IvsApiError("ValidationException", "The nextToken is not valid") from None
            if prefix != operation or offset < 0:
                raise IvsApiError("ValidationException", "The nextToken is not valid")
        page = items[offset : offset + limit]
        next_token = None
        if offset + limit < len(items):
            next_token = base64.b64encode(f"{operation}:{offset + limit}".encode()).decode()
        return page, next_token

    @staticmethod
    def _with_token(payload: dict, next_token: str | None) -> dict:
        if next_token:
            payload["nextToken"] = next_token
        return payload

    def _stage(self, arn: str) -> _Stage:
        stage = self.stages.get(arn)
        if stage is None:
            raise IvsApiError("ResourceNotFoundException", f"Stage not found: {arn}")
        return stage

    # --- stages ---------------------------------------------------------------------------
    def _create_stage(self, params: dict, *, region: str) -> dict:
        name = self._string(params, "name", max_len=128, pattern=STAGE_NAME_RE) or ""
        tags = self._tags(params)
        recording = self._recording(params) or self._default_recording()
        configs = params.get("participantTokenConfigurations") or []
        if not isinstance(configs, list) or len(configs) > 12:
            raise _invalid(
                "participantTokenConfigurations",
                len(configs) if isinstance(configs, list) else configs,
                "Member must have length less than or equal to 12",
            )
        token_requests = [self._token_request(c, "participantTokenConfigurations") for c in configs]
        if len(self.stages) >= self.config["max_stages"]:
            raise IvsApiError(
                "ServiceQuotaExceededException",
                f"Stages per region quota of {self.config['max_stages']} exceeded",
            )
        arn = f"arn:aws:ivs:{region}:{self.account_id}:stage/{self._alnum(12)}"
        stage = _Stage(
            arn=arn, name=name, tags=tags, endpoints=self._endpoints(), recording=recording
        )
        self.stages[arn] = stage
        tokens = [self._issue_token(stage, **request) for request in token_requests]
        logger.info("ivs sim: stage %s created (%s)", arn, name)
        return {"stage": stage.detail(), "participantTokens": [self._token_dict(t) for t in tokens]}

    def _get_stage(self, params: dict, *, region: str) -> dict:
        return {"stage": self._stage(self._stage_arn(params)).detail()}

    def _list_stages(self, params: dict, *, region: str) -> dict:
        items = [stage.summary() for stage in self.stages.values()]
        page, next_token = self._page("ListStages", params, items)
        return self._with_token({"stages": page}, next_token)

    def _update_stage(self, params: dict, *, region: str) -> dict:
        stage = self._stage(self._stage_arn(params))
        name = self._string(params, "name", max_len=128, pattern=STAGE_NAME_RE)
        recording = self._recording(params)
        if name is not None:
            stage.name = name
        if recording is not None:
            stage.recording = recording
        return {"stage": stage.detail()}

    def _delete_stage(self, params: dict, *, region: str) -> dict:
        stage = self._stage(self._stage_arn(params))
        # "Shuts down and deletes the stage, disconnecting all participants" (model doc).
        for replication in self._active_replications():
            if stage.arn in (replication.source_stage_arn, replication.destination_stage_arn):
                self._end_replication(replication)
        if stage.active is not None:
            for participant in stage.active.connected():
                self._disconnect(stage, participant)
        for participant_id in [p for p, t in self.tokens.items() if t.stage_arn == stage.arn]:
            del self.tokens[participant_id]
        del self.stages[stage.arn]
        logger.info("ivs sim: stage %s deleted", stage.arn)
        return {}

    # --- tokens and participants ------------------------------------------------------------
    def _token_request(self, raw: object, name: str) -> dict:
        if not isinstance(raw, dict):
            raise _invalid(name, raw, "Member must be a structure")
        return {
            "user_id": self._string(raw, "userId", max_len=128) or "",
            "duration": self._int(raw, "duration", low=1, high=20160, default=720),
            "capabilities": self._capabilities(
                raw.get("capabilities"), f"{name}.capabilities" if name else "capabilities"
            ),
            "attributes": self._attributes(raw),
        }

    def _issue_token(
        self,
        stage: _Stage,
        *,
        user_id: str,
        duration: int,
        capabilities: list[str],
        attributes: dict,
    ) -> _Token:
        participant_id = self._new_participant_id()
        issued = _now()
        expiration = issued + timedelta(minutes=duration)
        claims = {
            "r": stage.arn,
            "u": participant_id,
            "c": capabilities,
            "iat": int(issued.timestamp()),
            "exp": int(expiration.timestamp()),
            "jti": participant_id,
        }
        signing_input = (
            _b64url(json.dumps(TOKEN_HEADER, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = _b64url(hmac.new(self._signing_key, signing_input.encode(), "sha384").digest())
        token = _Token(
            participant_id=participant_id,
            stage_arn=stage.arn,
            user_id=user_id,
            attributes=attributes,
            capabilities=capabilities,
            duration=duration,
            expiration=expiration.replace(microsecond=0),
            token=f"{signing_input}.{signature}",
        )
        self.tokens[participant_id] = token
        return token

    @staticmethod
    def _token_dict(token: _Token) -> dict:
        return {
            "participantId": token.participant_id,
            "token": token.token,
            "userId": token.user_id,
            "attributes": dict(token.attributes),
            "duration": token.duration,
            "capabilities": list(token.capabilities),
            "expirationTime": _iso(token.expiration),
        }

    def _create_participant_token(self, params: dict, *, region: str) -> dict:
        arn = self._stage_arn(params, "stageArn")
        request = self._token_request(params, "")  # the token fields are top-level here
        token = self._issue_token(self._stage(arn), **request)
        return {"participantToken": self._token_dict(token)}

    def _list_participants(self, params: dict, *, region: str) -> dict:
        stage = self._stage(self._stage_arn(params, "stageArn"))
        session = stage.session(self._session_id(params))
        user_id = self._string(params, "filterByUserId", max_len=128)
        published = params.get("filterByPublished")
        if published is not None and not isinstance(published, bool):
            raise _invalid("filterByPublished", published, "Member must be a boolean")
        state = self._enum(params, "filterByState", PARTICIPANT_STATES)
        recording = self._enum(params, "filterByRecordingState", RECORDING_FILTER_STATES)
        filters = [f for f in (user_id, published, state, recording) if f is not None]
        # "Only one filter ... can be provided per request" (model doc); botocore does not check.
        if len(filters) > 1:
            raise IvsApiError(
                "ValidationException",
                "Only one of filterByUserId, filterByPublished, filterByState or "
                "filterByRecordingState can be provided per request",
            )
        participants = list(session.participants.values()) if session else []
        if user_id is not None:
            participants = [p for p in participants if p.user_id == user_id]
        if published is not None:
            participants = [p for p in participants if p.published == published]
        if state is not None:
            participants = [p for p in participants if p.state == state]
        if recording is not None:
            participants = []  # no participant records here: their recordingState is DISABLED
        items = [p.summary() for p in participants]
        page, next_token = self._page("ListParticipants", params, items)
        return self._with_token({"participants": page}, next_token)

    def _session_participant(self, params: dict) -> tuple[_Stage, _Session, _Participant]:
        stage = self._stage(self._stage_arn(params, "stageArn"))
        session_id = self._session_id(params)
        participant_id = self._participant_id(params)
        session = stage.session(session_id)
        if session is None:
            raise IvsApiError("ResourceNotFoundException", f"Session not found: {session_id}")
        participant = session.participants.get(participant_id)
        if participant is None:
            raise IvsApiError(
                "ResourceNotFoundException", f"Participant not found: {participant_id}"
            )
        return stage, session, participant

    def _get_participant(self, params: dict, *, region: str) -> dict:
        _, _, participant = self._session_participant(params)
        return {"participant": participant.detail()}

    def _list_participant_events(self, params: dict, *, region: str) -> dict:
        stage = self._stage(self._stage_arn(params, "stageArn"))
        session = stage.session(self._session_id(params))
        participant_id = self._participant_id(params)
        participant = session.participants.get(participant_id) if session else None
        events = list(reversed(participant.events)) if participant else []
        page, next_token = self._page("ListParticipantEvents", params, events)
        return self._with_token({"events": page}, next_token)

    def _disconnect_participant(self, params: dict, *, region: str) -> dict:
        stage = self._stage(self._stage_arn(params, "stageArn"))
        participant_id = self._participant_id(params)
        self._string(params, "reason", max_len=128)
        participant = stage.active.participants.get(participant_id) if stage.active else None
        if participant is None or participant.state != "CONNECTED":
            raise IvsApiError(
                "ResourceNotFoundException",
                f"Participant {participant_id} is not connected to {stage.arn}",
            )
        if participant.is_replica:
            replication = self._find_replication(
                participant.source_stage_arn, stage.arn, participant_id
            )
            if replication is not None:
                self._end_replication(replication)
        else:
            self._disconnect(stage, participant)
        logger.info("ivs sim: participant %s disconnected from %s", participant_id, stage.arn)
        return {}

    # --- replication ----------------------------------------------------------------------
    def _active_replications(self) -> list[_Replication]:
        return [r for r in self.replications if r.state == "ACTIVE"]

    def _find_replication(
        self, source_arn: str | None, destination_arn: str, participant_id: str
    ) -> _Replication | None:
        return next(
            (
                r
                for r in self._active_replications()
                if r.source_stage_arn == source_arn
                and r.destination_stage_arn == destination_arn
                and r.participant_id == participant_id
            ),
            None,
        )

    def _start_replication(self, params: dict, *, region: str) -> dict:
        source_arn = self._stage_arn(params, "sourceStageArn")
        destination_arn = self._stage_arn(params, "destinationStageArn")
        participant_id = self._participant_id(params)
        window = self._int(params, "reconnectWindowSeconds", low=0, high=300, default=0)
        attributes = self._attributes(params)
        source = self._stage(source_arn)
        destination = self._stage(destination_arn)
        if source_arn == destination_arn:
            raise IvsApiError(
                "ValidationException", "sourceStageArn and destinationStageArn must differ"
            )
        participant = source.active.participants.get(participant_id) if source.active else None
        publishing = (
            participant is not None
            and participant.state == "CONNECTED"
            and participant.publishing
            and not participant.is_replica
        )
        if not publishing:
            # The service's own words (team notes, seed 004); the error type is configurable.
            raise IvsApiError(
                self.config["not_publishing_error"], f"{participant_id} is not publishing"
            )
        assert participant is not None and source.active is not None  # publishing, so both
        if self._find_replication(source_arn, destination_arn, participant_id) is not None:
            raise IvsApiError(
                "ConflictException",
                f"{participant_id} is already replicated from {source_arn} to {destination_arn}",
            )
        active = [r for r in self._active_replications() if r.participant_id == participant_id]
        # "Concurrent participant replications" per participant: 5, not adjustable (§5).
        if len(active) >= self.config["max_replications_per_participant"]:
            raise IvsApiError(
                "ServiceQuotaExceededException",
                f"{participant_id} already has {len(active)} concurrent replications "
                f"(quota {self.config['max_replications_per_participant']})",
            )
        session = destination.active or self._new_session(destination)
        replica = session.participants.get(participant_id)
        if replica is None:
            replica = _Participant(
                participant_id=participant_id,
                user_id=participant.user_id,
                # Replication attributes win over the token's on key overlap (model doc).
                attributes={**participant.attributes, **attributes},
                capabilities=["PUBLISH"],
                first_join_time=_now(),
                replication_type="REPLICA",
                source_stage_arn=source_arn,
            )
            session.participants[participant_id] = replica
        replica.state = "CONNECTED"
        replica.published = replica.publishing = True
        replica.replication_state = "ACTIVE"
        replica.source_session_id = source.active.session_id
        self._event(replica, "JOINED")
        self._event(replica, "PUBLISH_STARTED")
        participant.replication_type = "SOURCE"
        replication = _Replication(
            source_stage_arn=source_arn,
            participant_id=participant_id,
            source_session_id=source.active.session_id,
            destination_stage_arn=destination_arn,
            destination_session_id=session.session_id,
            reconnect_window_s=window,
            attributes=attributes,
        )
        self.replications.append(replication)
        self._event(
            participant,
            "REPLICATION_STARTED",
            destinationStageArn=destination_arn,
            destinationSessionId=session.session_id,
        )
        logger.info(
            "ivs sim: replicating %s from %s to %s", participant_id, source_arn, destination_arn
        )
        return {}

    def _stop_replication(self, params: dict, *, region: str) -> dict:
        source_arn = self._stage_arn(params, "sourceStageArn")
        destination_arn = self._stage_arn(params, "destinationStageArn")
        participant_id = self._participant_id(params)
        self._stage(source_arn)
        self._stage(destination_arn)
        replication = self._find_replication(source_arn, destination_arn, participant_id)
        if replication is None:
            raise IvsApiError(
                "ResourceNotFoundException",
                f"No active replication of {participant_id} from {source_arn} to {destination_arn}",
            )
        self._end_replication(replication)
        return {}

    def _list_replicas(self, params: dict, *, region: str) -> dict:
        source_arn = self._stage_arn(params, "sourceStageArn")
        participant_id = self._participant_id(params)
        items = [
            r.as_dict()
            for r in self.replications
            if r.source_stage_arn == source_arn and r.participant_id == participant_id
        ]
        page, next_token = self._page("ListParticipantReplicas", params, items, max_results_cap=50)
        return self._with_token({"replicas": page}, next_token)

    def _end_replication(self, replication: _Replication) -> None:
        replication.state = "STOPPED"
        replication.grace_deadline = None
        destination = self.stages.get(replication.destination_stage_arn)
        session = destination.session(replication.destination_session_id) if destination else None
        replica = session.participants.get(replication.participant_id) if session else None
        if replica is not None and replica.state == "CONNECTED":
            replica.publishing = False
            replica.replication_state = "STOPPED"
            self._event(replica, "PUBLISH_STOPPED")
            replica.state = "DISCONNECTED"
            self._event(replica, "LEFT")
            if destination is not None:  # it holds the session the replica was found in
                self._end_session_if_empty(destination)
        source = self.stages.get(replication.source_stage_arn)
        source_session = source.session(replication.source_session_id) if source else None
        participant = (
            source_session.participants.get(replication.participant_id) if source_session else None
        )
        if participant is not None:
            self._event(
                participant,
                "REPLICATION_STOPPED",
                destinationStageArn=replication.destination_stage_arn,
                destinationSessionId=replication.destination_session_id,
            )
        logger.info(
            "ivs sim: replication of %s from %s to %s stopped",
            replication.participant_id,
            replication.source_stage_arn,
            replication.destination_stage_arn,
        )

    def _tick(self) -> None:
        """End the replications whose source did not come back within its reconnect window."""
        now = self._monotonic()
        for replication in self._active_replications():
            if replication.grace_deadline is not None and replication.grace_deadline <= now:
                self._end_replication(replication)

    # --- sessions -------------------------------------------------------------------------
    def _list_stage_sessions(self, params: dict, *, region: str) -> dict:
        stage = self._stage(self._stage_arn(params, "stageArn"))
        items = [s.as_dict() for s in reversed(stage.sessions)]
        page, next_token = self._page("ListStageSessions", params, items)
        return self._with_token({"stageSessions": page}, next_token)

    def _get_stage_session(self, params: dict, *, region: str) -> dict:
        stage = self._stage(self._stage_arn(params, "stageArn"))
        session_id = self._session_id(params)
        session = stage.session(session_id)
        if session is None:
            raise IvsApiError("ResourceNotFoundException", f"Session not found: {session_id}")
        return {"stageSession": session.as_dict()}

    def _end_session_if_empty(self, stage: _Stage) -> None:
        if stage.active is not None and not stage.active.connected():
            stage.active.end_time = _now()
            logger.debug("ivs sim: session %s ended on %s", stage.active.session_id, stage.arn)
            stage.active = None

    # --- what clients do (the control verbs) ------------------------------------------------
    def _start_publishing(self, stage: _Stage, participant: _Participant) -> str | None:
        """Publish; return the PUBLISH_ERROR code when the service would refuse."""
        if participant.publishing:
            return None
        if "PUBLISH" not in participant.capabilities:
            self._event(participant, "PUBLISH_ERROR", errorCode="INSUFFICIENT_CAPABILITIES")
            return "INSUFFICIENT_CAPABILITIES"
        assert stage.active is not None  # the participant is connected to the active session
        publishers = [p for p in stage.active.connected() if p.publishing]
        # 12 publishers per stage; the 13th gets a PUBLISH_ERROR event, not an API error (§11.6).
        if len(publishers) >= self.config["max_publishers_per_stage"]:
            self._event(participant, "PUBLISH_ERROR", errorCode="QUOTA_EXCEEDED")
            return "QUOTA_EXCEEDED"
        participant.publishing = participant.published = True
        self._event(participant, "PUBLISH_STARTED")
        for replication in self._active_replications():
            if (
                replication.source_stage_arn == stage.arn
                and replication.participant_id == participant.participant_id
                and replication.grace_deadline is not None
            ):
                # Back within reconnectWindowSeconds: the replication carries on (§4).
                replication.grace_deadline = None
                replication.source_session_id = stage.active.session_id
        return None

    def _stop_publishing(self, stage: _Stage, participant: _Participant) -> None:
        if not participant.publishing:
            return
        participant.publishing = False
        self._event(participant, "PUBLISH_STOPPED")
        now = self._monotonic()
        for replication in self._active_replications():
            if (
                replication.source_stage_arn == stage.arn
                and replication.participant_id == participant.participant_id
            ):
                if replication.reconnect_window_s == 0:
                    self._end_replication(replication)
                else:
                    replication.grace_deadline = now + replication.reconnect_window_s

    def _disconnect(self, stage: _Stage, participant: _Participant) -> None:
        self._stop_publishing(stage, participant)
        participant.state = "DISCONNECTED"
        self._event(participant, "LEFT")
        self._end_session_if_empty(stage)

    def _connected_participant(self, body: dict) -> tuple[_Stage, _Participant]:
        participant_id = body["participant_id"]
        token = self.tokens.get(participant_id)
        stage = self.stages.get(body.get("stage_arn") or (token.stage_arn if token else ""))
        participant = (
            stage.active.participants.get(participant_id) if stage and stage.active else None
        )
        if participant is None or participant.is_replica or participant.state != "CONNECTED":
            raise ValueError(f"participant {participant_id} is not connected")
        assert stage is not None  # the participant was found in it
        return stage, participant

    def control(self, verb: str, body: dict) -> dict:
        with self.lock:
            self._tick()
            if verb == "join":
                return self._control_join(body)
            if verb == "publish":
                stage, participant = self._connected_participant(body)
                if body.get("publishing", True):
                    error = self._start_publishing(stage, participant)
                else:
                    self._stop_publishing(stage, participant)
                    error = None
                return self._control_result(stage, participant, error)
            if verb == "leave":
                stage, participant = self._connected_participant(body)
                self._disconnect(stage, participant)
                return {"participantId": participant.participant_id, "state": participant.state}
            if verb == "config":
                unknown = set(body) - set(DEFAULTS) - {"account_id"}
                if unknown:
                    raise ValueError(f"unknown ivs config keys: {sorted(unknown)}")
                previous = dict(self.config)
                self.config.update(body)
                try:
                    self._check_config()
                except ValueError:
                    self.config = previous
                    raise
                return {"ok": True, "config": dict(self.config)}
            if verb == "state":
                return self._state()
            if verb == "clock":
                return self.clock_advance(float(body["advance_s"]))
        raise ValueError(
            f"unknown ivs control verb {verb!r} (join, publish, leave, config, clock, state)"
        )

    def clock_advance(self, advance_s: float) -> dict:
        """Move simulated time forward (reconnect windows), so tests never sleep through one."""
        if advance_s < 0:
            raise ValueError("the clock only moves forward")
        with self.lock:
            self._clock_offset_s += advance_s
            self._tick()
        return {"ok": True, "offset_s": self._clock_offset_s}

    def _control_join(self, body: dict) -> dict:
        participant_id = body.get("participant_id")
        if body.get("token"):
            try:
                claims = body["token"].split(".")[1]
                participant_id = json.loads(base64.urlsafe_b64decode(claims + "=="))["u"]
            except (IndexError, KeyError, ValueError, binascii.Error):
                raise ValueError("token is not a participant token") from None
        token = self.tokens.get(participant_id) if participant_id else None
        if participant_id and token is None:
            raise ValueError(f"no participant token for {participant_id}")
        stage_arn = body.get("stage_arn") or (token.stage_arn if token else "")
        stage = self.stages.get(stage_arn)
        if stage is None:
            raise ValueError(f"no stage {stage_arn!r}")
        if token is None:
            token = self._issue_token(
                stage,
                user_id=str(body.get("user_id", "")),
                duration=720,
                capabilities=list(CAPABILITIES),
                attributes={},
            )
        if token.stage_arn != stage.arn:
            raise ValueError(f"the token of {token.participant_id} is for {token.stage_arn}")
        if token.expiration <= _now():
            raise ValueError(f"the token of {token.participant_id} has expired")
        session = stage.active
        participant = session.participants.get(token.participant_id) if session else None
        if participant is not None and participant.state == "CONNECTED":
            raise ValueError(f"{token.participant_id} is already connected")
        if session is not None and (
            len(session.connected()) >= self.config["max_participants_per_stage"]
        ):
            raise ValueError(f"stage {stage.arn} is full (QUOTA_EXCEEDED)")
        session = session or self._new_session(stage)
        if participant is None:
            participant = _Participant(
                participant_id=token.participant_id,
                user_id=token.user_id,
                attributes=dict(token.attributes),
                capabilities=list(token.capabilities),
                first_join_time=_now(),
                protocol=str(body.get("protocol", "UNKNOWN")),
            )
            session.participants[participant.participant_id] = participant
        participant.state = "CONNECTED"
        self._event(participant, "JOINED")
        error = self._start_publishing(stage, participant) if body.get("publish") else None
        logger.info("ivs sim: %s joined %s", participant.participant_id, stage.arn)
        return self._control_result(stage, participant, error)

    @staticmethod
    def _control_result(stage: _Stage, participant: _Participant, error: str | None) -> dict:
        result = {
            "participantId": participant.participant_id,
            "stageArn": stage.arn,
            "sessionId": stage.active.session_id if stage.active else None,
            "publishing": participant.publishing,
        }
        if error:
            result["publishError"] = error
        return result

    def _state(self) -> dict:
        return {
            "stages": [
                {
                    **stage.detail(),
                    "sessions": [
                        {
                            **session.as_dict(),
                            "participants": [
                                {**p.summary(), "publishing": p.publishing}
                                for p in session.participants.values()
                            ],
                        }
                        for session in stage.sessions
                    ],
                }
                for stage in self.stages.values()
            ],
            "replications": [r.as_dict() for r in self.replications],
            "config": dict(self.config),
        }
