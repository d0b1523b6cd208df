"""Amazon IVS real-time ("ivs-realtime") -> typed dataclasses; the only boto3/botocore importer.

``ivs_gateway()`` builds one ``IvsGateway`` from settings. Every method is rate-limited on the
client side (IVS's own per-operation quotas), has a connect/read timeout, and retries only what
is safe (botocore's standard mode, bounded by ``CLOUD_MAX_RETRIES``); failures surface as the
``broadcastops.cloud.errors`` classes with the AWS error code, message and request id kept.
Facts and their confidence: ``/work/shared/reference/aws-ivs-realtime.md`` (the fact sheet).
"""

import functools
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.conf import settings

from broadcastops.cloud.errors import (
    CloudAuthError,
    CloudError,
    CloudInvalidRequest,
    CloudNotFound,
    CloudPermanentError,
    CloudQuotaExceeded,
    CloudRateLimited,
    CloudStateError,
    CloudTransientError,
    CloudUnreachable,
    NotPublishingError,
)
from broadcastops.cloud.ratelimit import Limit, RateLimiter

logger = logging.getLogger(__name__)

VENDOR = "aws-ivs"
# Tags every stage this console creates carries, so a reconciler can find orphans: CreateStage
# has no idempotency token, so a create whose answer was lost still leaves a stage (§1).
MANAGED_TAG = "broadcastops:managed"
CREATE_ID_TAG = "broadcastops:create-id"

# Client-side limits per operation, from the IVS API rate quotas (fact sheet §5: 5 TPS for
# stage, participant and session operations, 50 TPS for CreateParticipantToken). The quotas of
# the replication operations are unpublished: 5 TPS like their neighbours. A burst of 1 keeps
# any one-second window at or under the quota, which is what the service counts.
RATE_LIMITS = {
    "CreateParticipantToken": Limit(50.0),
    "StartParticipantReplication": Limit(5.0),
    "StopParticipantReplication": Limit(5.0),
    "ListParticipantReplicas": Limit(5.0),
}
DEFAULT_LIMIT = Limit(5.0)

# Error codes for throttling: IVS models no throttling shape, so it arrives as a plain code.
THROTTLING_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
}
AUTH_CODES = {
    "AccessDeniedException",
    "PendingVerification",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
}


# --- what the gateway returns -------------------------------------------------------------
@dataclass(frozen=True)
class StageEndpoints:
    """Where clients connect: the events WebSocket, WHIP, RTMP(S) ingest."""

    events: str = ""
    whip: str = ""
    rtmp: str = ""
    rtmps: str = ""


@dataclass(frozen=True)
class Stage:
    """A stage; ``active_session_id`` is "" while nobody is connected."""

    arn: str
    name: str = ""
    active_session_id: str = ""
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    endpoints: StageEndpoints | None = None

    @property
    def stage_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ParticipantToken:
    """A token reserves a participant id; it is a participant only once a client joins."""

    participant_id: str
    token: str = field(repr=False)  # a bearer secret: never in logs or reprs
    user_id: str = ""
    capabilities: tuple[str, ...] = ()
    duration_minutes: int = 0
    expiration_time: datetime | None = None
    attributes: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Participant:
    """One participant of one stage session (ListParticipants / GetParticipant).

    ``published`` means *ever published in this session*, not "publishing now" (model doc);
    use ``IvsGateway.participant_is_publishing`` for the latter.
    """

    participant_id: str
    user_id: str = ""
    state: str = ""
    first_join_time: datetime | None = None
    published: bool = False
    replication_type: str = "NONE"
    replication_state: str = ""
    source_stage_arn: str = ""
    source_session_id: str = ""
    recording_state: str = ""
    protocol: str = ""
    attributes: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def connected(self) -> bool:
        return self.state == "CONNECTED"

    @property
    def is_replica(self) -> bool:
        return self.replication_type == "REPLICA"


@dataclass(frozen=True)
class ParticipantEvent:
    """One ListParticipantEvents entry."""

    name: str
    participant_id: str = ""
    event_time: datetime | None = None
    remote_participant_id: str = ""
    error_code: str = ""
    destination_stage_arn: str = ""
    destination_session_id: str = ""
    replica: bool = False


@dataclass(frozen=True)
class Replica:
    """A participant replication, keyed by source stage and participant."""

    source_stage_arn: str
    participant_id: str
    source_session_id: str
    destination_stage_arn: str
    destination_session_id: str
    replication_state: str

    @property
    def active(self) -> bool:
        return self.replication_state == "ACTIVE"


@dataclass(frozen=True)
class StageSession:
    """A stage session; ``end_time`` is None while it is active."""

    session_id: str
    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def active(self) -> bool:
        return self.end_time is None


def _stage(raw: dict[str, Any]) -> Stage:
    endpoints = raw.get("endpoints")
    return Stage(
        arn=raw["arn"],
        name=raw.get("name", ""),
        # A stage with no session has no activeSessionId (exact form unconfirmed, §7).
        active_session_id=raw.get("activeSessionId") or "",
        tags=dict(raw.get("tags") or {}),
        endpoints=StageEndpoints(
            events=endpoints.get("events", ""),
            whip=endpoints.get("whip", ""),
            rtmp=endpoints.get("rtmp", ""),
            rtmps=endpoints.get("rtmps", ""),
        )
        if endpoints is not None
        else None,
    )


def _token(raw: dict[str, Any]) -> ParticipantToken:
    return ParticipantToken(
        participant_id=raw.get("participantId", ""),
        token=raw.get("token", ""),
        user_id=raw.get("userId", ""),
        capabilities=tuple(raw.get("capabilities") or ()),
        duration_minutes=raw.get("duration", 0),
        expiration_time=raw.get("expirationTime"),
        attributes=dict(raw.get("attributes") or {}),
    )


def _participant(raw: dict[str, Any]) -> Participant:
    return Participant(
        participant_id=raw.get("participantId", ""),
        user_id=raw.get("userId", ""),
        state=raw.get("state", ""),
        first_join_time=raw.get("firstJoinTime"),
        published=bool(raw.get("published", False)),
        # Ordinary participants show NONE or omit the member (§4).
        replication_type=raw.get("replicationType") or "NONE",
        replication_state=raw.get("replicationState", ""),
        source_stage_arn=raw.get("sourceStageArn", ""),
        source_session_id=raw.get("sourceSessionId", ""),
        recording_state=raw.get("recordingState", ""),
        protocol=raw.get("protocol", ""),
        attributes=dict(raw.get("attributes") or {}),
    )


def _event(raw: dict[str, Any]) -> ParticipantEvent:
    return ParticipantEvent(
        name=raw.get("name", ""),
        participant_id=raw.get("participantId", ""),
        event_time=raw.get("eventTime"),
        remote_participant_id=raw.get("remoteParticipantId", ""),
        error_code=raw.get("errorCode", ""),
        destination_stage_arn=raw.get("destinationStageArn", ""),
        destination_session_id=raw.get("destinationSessionId", ""),
        replica=bool(raw.get("replica", False)),
    )


def _replica(raw: dict[str, Any]) -> Replica:
    return Replica(
        source_stage_arn=raw["sourceStageArn"],
        participant_id=raw["participantId"],
        source_session_id=raw["sourceSessionId"],
        destination_stage_arn=raw["destinationStageArn"],
        destination_session_id=raw["destinationSessionId"],
        replication_state=raw["replicationState"],
    )


def _session(raw: dict[str, Any]) -> StageSession:
    return StageSession(
        session_id=raw.get("sessionId", ""),
        start_time=raw.get("startTime"),
        end_time=raw.get("endTime"),
    )


# --- errors -------------------------------------------------------------------------------
def _client_error(exc: ClientError, action: str) -> CloudError:
    response = exc.response
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    # The error body carries `exceptionMessage`, which botocore leaves at the top level; its
    # Error.Message is filled only from `message` (§3 "Error shapes").
    message = response.get("exceptionMessage") or error.get("Message") or code
    metadata = response.get("ResponseMetadata") or {}
    request_id = metadata.get("RequestId") or (metadata.get("HTTPHeaders") or {}).get(
        "x-amzn-requestid", ""
    )
    kwargs = {"vendor": VENDOR, "code": code, "request_id": request_id, "action": action}
    # The not-publishing refusal's error type is undocumented: classify by its text (§3).
    if action == "StartParticipantReplication" and "not publishing" in message:
        return NotPublishingError(message, **kwargs)
    if code in THROTTLING_CODES or status == 429:
        return CloudRateLimited(message, **kwargs)
    if code in AUTH_CODES or status in (401, 403):
        return CloudAuthError(message, **kwargs)
    if code == "ResourceNotFoundException" or status == 404:
        return CloudNotFound(message, **kwargs)
    if code == "ValidationException":
        return CloudInvalidRequest(message, **kwargs)
    if code == "ConflictException":
        return CloudStateError(message, **kwargs)
    # Quotas come back as HTTP 402, not 429 (§3), and are not retried by botocore.
    if code == "ServiceQuotaExceededException":
        return CloudQuotaExceeded(message, **kwargs)
    if code.isdigit() and status >= 500:
        # No error type at all: a proxy or load balancer answered, not the service.
        return CloudUnreachable(message or f"HTTP {status}", **kwargs)
    if code == "InternalServerException" or status >= 500:
        return CloudTransientError(message, **kwargs)
    if 400 <= status < 500:
        return CloudInvalidRequest(message, **kwargs)
    return CloudPermanentError(message, **kwargs)


def _botocore_error(exc: BotoCoreError, action: str) -> CloudError:
    kwargs = {"vendor": VENDOR, "code": exc.__class__.__name__, "action": action}
    if isinstance(exc, ParamValidationError):
        return CloudInvalidRequest(str(exc), **kwargs)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CloudAuthError(str(exc), **kwargs)
    if isinstance(
        exc, BotoConnectionError | HTTPClientError | ConnectTimeoutError | ReadTimeoutError
    ):
        return CloudUnreachable(str(exc), **kwargs)
    return CloudTransientError(str(exc), **kwargs)


# --- the gateway --------------------------------------------------------------------------
class IvsGateway:
    """IVS real-time operations as typed calls. Thread-safe (boto3 clients are)."""

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str = "",
        timeout_s: float = 10.0,
        max_retries: int = 3,
        access_key_id: str = "",
        secret_access_key: str = "",
        limiter: RateLimiter | None = None,
    ):
        self.region = region
        self.endpoint_url = endpoint_url or None
        self.limiter = limiter
        # An explicit key pair, or boto3's own credential chain (environment, profile, role).
        session = boto3.session.Session(
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            region_name=region,
        )
        timeouts = {"connect_timeout": timeout_s, "read_timeout": timeout_s}
        self._client = session.client(
            "ivs-realtime",
            endpoint_url=self.endpoint_url,
            config=Config(
                **timeouts,
                # `max_attempts` counts retries here; standard mode retries 5xx, throttling and
                # connection errors with jittered backoff (§10.3).
                retries={"mode": "standard", "max_attempts": max(0, max_retries)},
            ),
        )
        # CreateStage has no idempotency token and botocore retries 5xx: a retried create may
        # leave a second stage, so it gets exactly one attempt (§1).
        self._create_client = session.client(
            "ivs-realtime",
            endpoint_url=self.endpoint_url,
            config=Config(**timeouts, retries={"mode": "standard", "total_max_attempts": 1}),
        )

    def _call(
        self,
        action: str,
        *,
        client: Any = None,
        max_wait_s: float | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        if self.limiter is not None:
            # IVS quotas are per account and region; a process talks to one account. A caller
            # that answers a person (a viewer's join) waits less for a slot than a worker.
            waits = {} if max_wait_s is None else {"max_wait_s": max_wait_s}
            self.limiter.acquire(
                f"ivs:{self.region}:{action}", RATE_LIMITS.get(action, DEFAULT_LIMIT), **waits
            )
        operation = getattr(client or self._client, _snake(action))
        try:
            response: dict[str, Any] = operation(**params)
            return response
        except ClientError as exc:
            error = _client_error(exc, action)
        except BotoCoreError as exc:
            error = _botocore_error(exc, action)
        logger.warning(
            "IVS %s failed: %s %s (request %s)",
            action,
            error.code,
            error.message,
            error.request_id or "-",
        )
        raise error

    def _pages(self, action: str, key: str, page_size: int, **params: Any) -> list[dict[str, Any]]:
        # ListStages, ListParticipants, ListParticipantEvents and ListStageSessions have
        # nextToken but no paginator (get_paginator raises OperationNotPageableError, §1).
        items: list[dict[str, Any]] = []
        next_token = ""
        while True:
            extra: dict[str, Any] = {"nextToken": next_token} if next_token else {}
            response = self._call(action, maxResults=page_size, **params, **extra)
            # Required list members: absent would mean a broken response; treat it as empty.
            items.extend(response.get(key) or [])
            next_token = response.get("nextToken") or ""
            if not next_token:
                return items

    # --- stages ---------------------------------------------------------------------------
    def stage_create(
        self, *, name: str, tags: dict[str, str] | None = None, create_id: str = ""
    ) -> Stage:
        """Create a stage, tagged as ours with a create id (one attempt: see ``__init__``).

        Pass ``create_id`` after recording it: if the answer is lost (timeout), the stage can
        still be found by ``stage_list()`` and its ``CREATE_ID_TAG`` instead of created twice.
        """
        create_id = create_id or uuid.uuid4().hex
        all_tags = {**(tags or {}), MANAGED_TAG: "true", CREATE_ID_TAG: create_id}
        response = self._call("CreateStage", client=self._create_client, name=name, tags=all_tags)
        stage = _stage(response["stage"])
        logger.info("IVS stage %s created (name %s, create id %s)", stage.arn, name, create_id)
        return stage

    def stage_get(self, *, stage_arn: str) -> Stage:
        """One stage, with its endpoints and active session id."""
        return _stage(self._call("GetStage", arn=stage_arn)["stage"])

    def stage_list(self, *, page_size: int = 100) -> list[Stage]:
        """Every stage of the region (summaries: no endpoints)."""
        return [_stage(raw) for raw in self._pages("ListStages", "stages", page_size)]

    def stage_find(self, *, create_id: str) -> list[Stage]:
        """The stages tagged with ``create_id`` (``stage_create``): normally none or one.

        How a create whose answer was lost (timeout, crash before the ARN was saved) is found
        instead of created again; two mean a create was sent twice (ListStages returns tags).
        """
        return [s for s in self.stage_list() if s.tags.get(CREATE_ID_TAG) == create_id]

    def stage_update(self, *, stage_arn: str, name: str) -> Stage:
        """Rename a stage (tags change through TagResource, not here)."""
        return _stage(self._call("UpdateStage", arn=stage_arn, name=name)["stage"])

    def stage_delete(self, *, stage_arn: str) -> None:
        """Delete a stage; IVS disconnects everyone still on it."""
        self._call("DeleteStage", arn=stage_arn)
        logger.info("IVS stage %s deleted", stage_arn)

    # --- tokens and participants ------------------------------------------------------------
    def participant_token_create(
        self,
        *,
        stage_arn: str,
        user_id: str = "",
        capabilities: tuple[str, ...] | list[str] = ("PUBLISH", "SUBSCRIBE"),
        duration_minutes: int = 720,
        attributes: dict[str, str] | None = None,
        max_wait_s: float | None = None,
    ) -> ParticipantToken:
        """A token for one participant of one stage; the participant id is assigned now.

        ``max_wait_s`` bounds the wait for a slot of the 50/s quota (``CloudRateLimited``
        beyond it), for callers that answer a person.
        """
        response = self._call(
            "CreateParticipantToken",
            max_wait_s=max_wait_s,
            stageArn=stage_arn,
            userId=user_id,
            capabilities=list(capabilities),
            duration=duration_minutes,
            attributes=attributes or {},
        )
        token = _token(response["participantToken"])
        logger.info(
            "IVS token for participant %s (user %s) on %s",
            token.participant_id,
            user_id,
            stage_arn,
        )
        return token

    def participant_list(
        self,
        *,
        stage_arn: str,
        session_id: str,
        user_id: str | None = None,
        published: bool | None = None,
        state: str | None = None,
        recording_state: str | None = None,
        page_size: int = 100,
    ) -> list[Participant]:
        """Participants of one session, including DISCONNECTED ones and replicas.

        IVS accepts at most one filter per request (a ValidationException otherwise).
        """
        filters = {
            "filterByUserId": user_id,
            "filterByPublished": published,
            "filterByState": state,
            "filterByRecordingState": recording_state,
        }
        params = {k: v for k, v in filters.items() if v is not None}
        raw = self._pages(
            "ListParticipants",
            "participants",
            page_size,
            stageArn=stage_arn,
            sessionId=session_id,
            **params,
        )
        return [_participant(item) for item in raw]

    def participant_get(
        self, *, stage_arn: str, session_id: str, participant_id: str
    ) -> Participant:
        """One participant of one session, with its attributes."""
        response = self._call(
            "GetParticipant",
            stageArn=stage_arn,
            sessionId=session_id,
            participantId=participant_id,
        )
        return _participant(response["participant"])

    def participant_events_list(
        self, *, stage_arn: str, session_id: str, participant_id: str, page_size: int = 100
    ) -> list[ParticipantEvent]:
        """A participant's events in one session, oldest first (IVS's own order is unstated)."""
        raw = self._pages(
            "ListParticipantEvents",
            "events",
            page_size,
            stageArn=stage_arn,
            sessionId=session_id,
            participantId=participant_id,
        )
        events = [_event(item) for item in raw]
        # The docs' example lists newest first, but the order is not documented (§3).
        if all(e.event_time is not None for e in events):
            events.sort(key=lambda e: e.event_time or datetime.min)
        return events

    def participant_is_publishing(
        self, *, stage_arn: str, session_id: str, participant_id: str
    ) -> bool:
        """Whether the participant publishes *now*: its latest PUBLISH_STARTED/STOPPED event.

        ``Participant.published`` cannot tell: it means "ever published in this session". A
        LEFT after the last PUBLISH_STARTED also counts as stopped, in case IVS logs no
        PUBLISH_STOPPED for a dropped connection (undocumented). One call per page at 5 TPS.
        """
        events = self.participant_events_list(
            stage_arn=stage_arn, session_id=session_id, participant_id=participant_id
        )
        publish_events = [
            e for e in events if e.name in ("PUBLISH_STARTED", "PUBLISH_STOPPED", "LEFT")
        ]
        return bool(publish_events) and publish_events[-1].name == "PUBLISH_STARTED"

    def participant_disconnect(
        self, *, stage_arn: str, participant_id: str, reason: str = ""
    ) -> None:
        """Disconnect a participant from a stage (the token is not revoked by this call)."""
        params: dict[str, Any] = {"reason": reason} if reason else {}
        self._call(
            "DisconnectParticipant", stageArn=stage_arn, participantId=participant_id, **params
        )
        logger.info("IVS participant %s disconnected from %s", participant_id, stage_arn)

    # --- replication ----------------------------------------------------------------------
    def replication_start(
        self,
        *,
        source_stage_arn: str,
        destination_stage_arn: str,
        participant_id: str,
        reconnect_window_s: int = 0,
        attributes: dict[str, str] | None = None,
    ) -> None:
        """Copy a publishing participant into another stage.

        Raises ``NotPublishingError`` when the source is not publishing now (retry once it
        publishes) and ``CloudQuotaExceeded`` past 5 concurrent replications of one participant.
        """
        params: dict[str, Any] = {"attributes": attributes} if attributes else {}
        self._call(
            "StartParticipantReplication",
            sourceStageArn=source_stage_arn,
            destinationStageArn=destination_stage_arn,
            participantId=participant_id,
            reconnectWindowSeconds=reconnect_window_s,
            **params,
        )
        logger.info(
            "IVS replication of %s from %s to %s started",
            participant_id,
            source_stage_arn,
            destination_stage_arn,
        )

    def replication_stop(
        self, *, source_stage_arn: str, destination_stage_arn: str, participant_id: str
    ) -> None:
        """Stop a replication; the replica leaves the destination stage."""
        self._call(
            "StopParticipantReplication",
            sourceStageArn=source_stage_arn,
            destinationStageArn=destination_stage_arn,
            participantId=participant_id,
        )
        logger.info(
            "IVS replication of %s from %s to %s stopped",
            participant_id,
            source_stage_arn,
            destination_stage_arn,
        )

    def replica_list(
        self, *, source_stage_arn: str, participant_id: str, page_size: int = 50
    ) -> list[Replica]:
        """The replications of a participant out of its stage (ACTIVE and STOPPED)."""
        replicas: list[Replica] = []
        next_token = ""
        # ListParticipantReplicas does have a paginator, but it would bypass the rate limiter
        # between pages; the manual loop makes one limited call per page (maxResults <= 50).
        while True:
            extra: dict[str, Any] = {"nextToken": next_token} if next_token else {}
            response = self._call(
                "ListParticipantReplicas",
                sourceStageArn=source_stage_arn,
                participantId=participant_id,
                maxResults=min(page_size, 50),
                **extra,
            )
            replicas.extend(_replica(item) for item in response.get("replicas") or [])
            next_token = response.get("nextToken") or ""
            if not next_token:
                return replicas

    # --- sessions -------------------------------------------------------------------------
    def stage_session_list(self, *, stage_arn: str, page_size: int = 100) -> list[StageSession]:
        """The sessions of a stage, as IVS orders them."""
        raw = self._pages("ListStageSessions", "stageSessions", page_size, stageArn=stage_arn)
        return [_session(item) for item in raw]

    def stage_session_get(self, *, stage_arn: str, session_id: str) -> StageSession:
        """One session of a stage."""
        response = self._call("GetStageSession", stageArn=stage_arn, sessionId=session_id)
        return _session(response["stageSession"])


def _snake(action: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")


def _demo_credentials() -> tuple[str, str]:
    """The simulator's key pair when demo mode has no AWS credentials of its own.

    Static keys stop boto3's credential chain from probing the instance metadata service.
    """
    if (
        not settings.CLOUD_DEMO
        or os.environ.get("AWS_ACCESS_KEY_ID")
        or os.environ.get("AWS_PROFILE")
    ):
        return "", ""
    from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY

    return SIM_SECRET_ID, SIM_SECRET_KEY


@functools.cache
def ivs_gateway() -> IvsGateway:
    """The process's gateway, from settings (tests call ``ivs_gateway.cache_clear()``)."""
    access_key_id, secret_access_key = _demo_credentials()
    return IvsGateway(
        region=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL_IVS_REALTIME,
        timeout_s=settings.CLOUD_TIMEOUT_S,
        max_retries=settings.CLOUD_MAX_RETRIES,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        limiter=RateLimiter(settings.REDIS_URL),
    )
