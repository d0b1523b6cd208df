"""Tencent Cloud StreamLive, StreamLink, StreamPackage and CSS -> typed dataclasses.

The only importer of ``tencentcloud``. ``tencent_gateway()`` builds one ``TencentGateway`` from
settings. Every call goes through ``TencentGateway._call``: a client-side rate limit per action
(a fraction of the documented quota), the SDK's own signing and transport with a timeout, a
bounded retry with short jittered backoff for transient failures only, and one mapping of the
vendor's error codes onto ``broadcastops.cloud.errors`` (code, message and request id kept).
Methods return the frozen dataclasses of ``broadcastops.cloud.types``.
Facts and their confidence: ``/work/shared/reference/tencent-media-api.md`` (the fact sheet).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.live.v20180801.live_client import LiveClient
from tencentcloud.mdc.v20200828.mdc_client import MdcClient
from tencentcloud.mdl.v20200326.mdl_client import MdlClient
from tencentcloud.mdl.v20200326.models import ModifyStreamLiveChannelRequest
from tencentcloud.mdp.v20200527.mdp_client import MdpClient

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
)
from broadcastops.cloud.ratelimit import Limit, RateLimiter
from broadcastops.cloud.types import (
    AttachedInput,
    ChannelInputStatistics,
    ChannelLogEntry,
    CssStream,
    CssStreamState,
    FailOverSettings,
    FlowEndpointStatus,
    FlowLogEntry,
    FlowStatus,
    InputEndpoint,
    InputStatistics,
    InputStatSample,
    InputStreamState,
    InputStreamStatus,
    LinkDestination,
    LinkFlow,
    LinkInput,
    LinkOutput,
    LiveChannel,
    LiveInput,
    LivePlan,
    OutputGroup,
    PackageChannel,
    PackageEndpoint,
    Page,
    PipelineAlert,
)

logger = logging.getLogger(__name__)

VENDOR = "tencent"
CLIENTS = {"mdl": MdlClient, "mdc": MdcClient, "mdp": MdpClient, "live": LiveClient}

# Documented per-API quotas (fact sheet 6.4): 20/s for every StreamLive, StreamLink and
# StreamPackage API; CSS has its own per action.
DEFAULT_QUOTA_PER_S = 20.0
CSS_QUOTAS_PER_S = {
    "DescribeLiveStreamState": 300.0,
    "DropLiveStream": 100.0,
    "ResumeLiveStream": 100.0,
    "ForbidLiveStream": 100.0,
    "DescribeLiveStreamOnlineList": 500.0,
}

# Short jittered backoff instead of the SDK's StandardRetryer (1, 2, 4 s, and a sleep after the
# last attempt too: fact sheet 1.6).
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0

# ModifyStreamLiveChannel takes exactly these fields (the SDK request model); anything else in
# a Describe answer (State, fields newer than the SDK) is output-only for us.
MODIFY_CHANNEL_FIELDS = frozenset(name[1:] for name in vars(ModifyStreamLiveChannelRequest()))

# "Not found" per product (fact sheet 6.3): StreamLive says InvalidParameter.NotFound, not
# ResourceNotFound; StreamLink uses InvalidParameter.Id for an unknown flow.
_NOT_FOUND = {
    "mdl": {"InvalidParameter.NotFound", "InvalidParameter.Id", "InvalidParameter.ChannelId"},
    "mdc": {"InvalidParameter.NotFound", "InvalidParameter.Id"},
    "mdp": {"InvalidParameter.NotFound", "InvalidParameter.Id"},
    "live": set(),
}
_INVALID_PREFIXES = (
    "InvalidParameter",
    "InvalidParameterValue",
    "MissingParameter",
    "UnknownParameter",
    "InvalidAction",
    "NoSuchVersion",
    "NoSuchProduct",
    "UnsupportedOperation",
    "UnsupportedProtocol",
    "RequestSizeLimitExceeded",
    "ClientParamsError",
    "ClientError",
)

T = TypeVar("T")
R = TypeVar("R")


# --- errors ---------------------------------------------------------------------------------
def _error_class(service: str, code: str) -> type[CloudError]:
    if code in ("ClientNetworkError", "ServerNetworkError"):
        return CloudUnreachable
    # RequestLimitExceeded.* is API 3.0's throttle; CSS also has LimitExceeded.RateLimitExceeded.
    if code.startswith("RequestLimitExceeded") or code == "LimitExceeded.RateLimitExceeded":
        return CloudRateLimited
    if code.startswith(("AuthFailure", "UnauthorizedOperation")) or code in (
        "InvalidCredential",
        "UnsupportedRegion",
    ):
        return CloudAuthError
    if (
        code in _NOT_FOUND.get(service, ())
        or code.startswith("ResourceNotFound")
        or code.endswith(".StreamNotExist")
    ):
        return CloudNotFound
    if code in ("InvalidParameter.StateError", "InvalidParameter.State"):
        return CloudStateError
    if code.startswith("LimitExceeded") or code == "InvalidParameter.ExceededQuantityLimit":
        return CloudQuotaExceeded
    if code.startswith("InternalError") or code in (
        "ServiceUnavailable",
        "FailedOperation.CallOtherSvrFailed",
    ):
        return CloudTransientError
    if code.startswith(_INVALID_PREFIXES):
        return CloudInvalidRequest
    return CloudPermanentError


def map_sdk_error(exc: TencentCloudSDKException, *, service: str, action: str) -> CloudError:
    """The ``CloudError`` for an SDK exception, keeping the vendor code, message and request id."""
    code = exc.get_code() or ""
    message = exc.get_message()
    if isinstance(message, bytes):
        # ServerNetworkError carries the raw HTTP body (fact sheet 1.7).
        message = message.decode("utf-8", "replace")
    message = str(message or code)[:500]
    cls = _error_class(service, code)
    return cls(
        message, vendor=VENDOR, code=code, request_id=exc.get_request_id() or "", action=action
    )


# --- settings helpers -------------------------------------------------------------------------
def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_endpoint(value: str) -> tuple[str | None, str]:
    """``TENCENTCLOUD_ENDPOINT`` (a URL or ``host:port``) -> (HttpProfile endpoint, protocol).

    The scheme never goes into ``endpoint``: the SDK would send it in the Host header
    (fact sheet 1.5). Plain http is allowed on loopback only (the simulator).
    """
    value = (value or "").strip()
    if not value:
        return None, "https"
    url = urlsplit(value if "://" in value else f"//{value}")
    host = url.hostname or ""
    if not host or url.path not in ("", "/") or url.query or url.username:
        raise ImproperlyConfigured(
            f"TENCENTCLOUD_ENDPOINT must be a URL or host:port without a path, not {value!r}"
        )
    loopback = _is_loopback(host)
    scheme = url.scheme or ("http" if loopback else "https")
    if scheme not in ("http", "https"):
        raise ImproperlyConfigured(f"TENCENTCLOUD_ENDPOINT scheme must be http(s): {value!r}")
    if scheme == "http" and not loopback:
        raise ImproperlyConfigured("TENCENTCLOUD_ENDPOINT may use http on loopback only")
    return url.netloc, scheme


# --- parsing helpers --------------------------------------------------------------------------
def _dt(value: Any) -> datetime | None:
    """A UTC time from ISO text (``Z`` or an offset: StreamLink shows both) or Unix seconds."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fmt(value: datetime) -> str:
    """Request times: UTC ``YYYY-MM-DDTHH:MM:SSZ`` (mdl and mdc docs)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _strip_none(value: Any) -> Any:
    """Drop null members, as the SDK's own serialiser does: null fields are not sent (1.8)."""
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _failover(raw: Any) -> FailOverSettings | None:
    if not isinstance(raw, dict):
        return None
    return FailOverSettings(
        secondary_input_id=raw.get("SecondaryInputId") or "",
        loss_threshold_ms=int(raw.get("LossThreshold") or 0),
        recover_behavior=raw.get("RecoverBehavior") or "",
    )


def _live_channel(raw: dict[str, Any]) -> LiveChannel:
    return LiveChannel(
        id=raw.get("Id") or "",
        name=raw.get("Name") or "",
        state=raw.get("State") or "",
        attached_inputs=tuple(
            AttachedInput(id=a.get("Id") or "", failover=_failover(a.get("FailOverSettings")))
            for a in raw.get("AttachedInputs") or []
        ),
        output_groups=tuple(
            OutputGroup(
                name=g.get("Name") or "",
                type=g.get("Type") or "",
                destination_urls=tuple(
                    d.get("OutputUrl") or "" for d in g.get("Destinations") or []
                ),
                stream_package_id=(g.get("StreamPackageSettings") or {}).get("Id") or "",
            )
            for g in raw.get("OutputGroups") or []
        ),
        pipeline_fault_behavior=(raw.get("PipelineInputSettings") or {}).get("FaultBehavior") or "",
        tags=tuple((t.get("TagKey") or "", t.get("TagValue") or "") for t in raw.get("Tags") or []),
        notify_url=(
            ((raw.get("EventNotifySettings") or {}).get("PushEventSettings") or {}).get("NotifyUrl")
            or ""
        ),
    )


def _live_input(raw: dict[str, Any]) -> LiveInput:
    return LiveInput(
        id=raw.get("Id") or "",
        name=raw.get("Name") or "",
        type=raw.get("Type") or "",
        region=raw.get("Region") or "",
        attached_channel_ids=tuple(raw.get("AttachedChannels") or ()),
        endpoints=tuple(
            InputEndpoint(
                pipeline=i,
                input_address=s.get("InputAddress") or "",
                app_name=s.get("AppName") or "",
                stream_name=s.get("StreamName") or "",
                source_url=s.get("SourceUrl") or "",
            )
            for i, s in enumerate(raw.get("InputSettings") or [])
        ),
    )


def _link_flow(raw: dict[str, Any]) -> LinkFlow:
    return LinkFlow(
        id=raw.get("FlowId") or "",
        name=raw.get("FlowName") or "",
        state=raw.get("State") or "",
        max_bandwidth_bps=int(raw.get("MaxBandwidth") or 0),
        inputs=tuple(
            LinkInput(
                id=i.get("InputId") or "",
                name=i.get("InputName") or "",
                protocol=i.get("Protocol") or "",
                addresses=tuple(
                    f"{a.get('Ip', '')}:{a.get('Port', '')}"
                    for a in i.get("InputAddressList") or []
                ),
                failover=i.get("FailOver") == "OPEN",
            )
            for i in raw.get("InputGroup") or []
        ),
        outputs=tuple(
            LinkOutput(
                id=o.get("OutputId") or "",
                name=o.get("OutputName") or "",
                protocol=o.get("Protocol") or "",
                output_type=o.get("OutputType") or "",
                destinations=tuple(
                    LinkDestination(url=d.get("Url") or "", stream_key=d.get("StreamKey") or "")
                    for d in (o.get("RTMPSettings") or {}).get("Destinations") or []
                ),
                state=o.get("State") or "",
            )
            for o in raw.get("OutputGroup") or []
        ),
        created_at=_dt(raw.get("CreateTime")),
    )


def _package_channel(raw: dict[str, Any]) -> PackageChannel:
    points = raw.get("Points") or {}
    return PackageChannel(
        id=raw.get("Id") or "",
        name=raw.get("Name") or "",
        protocol=raw.get("Protocol") or "",
        input_urls=tuple(i.get("Url") or "" for i in points.get("Inputs") or []),
        endpoints=tuple(
            PackageEndpoint(
                name=e.get("Name") or "", url=e.get("Url") or "", protocol=e.get("Protocol") or ""
            )
            for e in points.get("Endpoints") or []
        ),
    )


def map_parallel(
    fn: Callable[[T], R], items: Iterable[T], *, max_workers: int = 8
) -> list[R | CloudError]:
    """``fn`` over ``items`` on a bounded thread pool, results in the items' order.

    A ``CloudError`` is returned in place of its item's result, so one failing channel does not
    sink a whole poll; any other exception propagates. The gateway's rate limiter still paces
    every call, so ``max_workers`` only bounds concurrency (latency hiding), not the rate.
    """
    items = list(items)
    if not items:
        return []

    def run(item: T) -> R | CloudError:
        try:
            return fn(item)
        except CloudError as exc:
            return exc

    with ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(items))), thread_name_prefix="tencent"
    ) as pool:
        return list(pool.map(run, items))


def map_parallel_completed(
    fn: Callable[[T], R], items: Iterable[T], *, max_workers: int = 8
) -> Iterator[tuple[T, R | CloudError]]:
    """``map_parallel`` that yields ``(item, result)`` as each call completes, so the caller
    can use the first answers while the later ones are still paced by the limiter (the poll
    writes each channel as soon as its details are in). Same ``CloudError`` rule; the pool is
    shut down (pending calls cancelled) when the caller stops early."""
    items = list(items)
    if not items:
        return

    def run(item: T) -> R | CloudError:
        try:
            return fn(item)
        except CloudError as exc:
            return exc

    pool = ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(items))), thread_name_prefix="tencent"
    )
    try:
        futures = {pool.submit(run, item): item for item in items}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- the gateway --------------------------------------------------------------------------
class TencentGateway:
    """StreamLive, StreamLink, StreamPackage and CSS as typed calls. Thread-safe: each thread
    gets its own SDK clients (each holds one ``requests`` session)."""

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        region: str,
        endpoint: str = "",
        timeout_s: float = 10.0,
        max_retries: int = 3,
        rate_fraction: float = 0.5,
        limiter: RateLimiter | None = None,
        lane: str = "",
    ):
        self.region = region
        self.timeout_s = timeout_s
        self.max_retries = max(0, max_retries)
        self.rate_fraction = rate_fraction
        self.limiter = limiter if rate_fraction > 0 else None
        # A lane has slots of its own beside the default one (the push refresh's, so that a
        # callback's refresh never queues behind a running poll); the fractions of all lanes
        # together stay under the cloud's quota.
        self.lane = lane
        self.endpoint = endpoint
        self._endpoint, self._protocol = parse_endpoint(endpoint)
        self._secret_id = secret_id
        self._secret_key = secret_key
        # Limits are per account and API: key them by a digest, never the SecretId itself.
        self._account = hashlib.sha256(secret_id.encode()).hexdigest()[:12]
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"TencentGateway(region={self.region!r}, endpoint={self._endpoint or 'default'!r})"

    # --- plumbing -------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        client = getattr(self._local, service, None)
        if client is None:
            http = HttpProfile(
                endpoint=self._endpoint, protocol=self._protocol, reqTimeout=self.timeout_s
            )
            profile = ClientProfile(httpProfile=http)
            # Keep the region breaker off: its error path swallows exceptions (fact sheet 1.6).
            profile.disable_region_breaker = True
            credential = Credential(self._secret_id, self._secret_key)
            client = CLIENTS[service](credential, self.region, profile)
            setattr(self._local, service, client)
        return client

    def _limit(self, action: str) -> Limit | None:
        if self.limiter is None:
            return None
        rate = CSS_QUOTAS_PER_S.get(action, DEFAULT_QUOTA_PER_S) * self.rate_fraction
        # Evenly spaced, no burst: a burst of N on top of N/s would fill a 1 s window twice
        # over, and the quota is counted per second (we promise at most this fraction of it).
        return Limit(rate, burst=1)

    def _call(
        self, service: str, action: str, params: dict[str, Any], *, idempotent: bool = True
    ) -> dict[str, Any]:
        """One API action: rate limit, call, bounded retry, error mapping. Returns ``Response``.

        Non-idempotent actions (Start/Stop) are retried only when the cloud certainly did not
        act: a throttle rejection. A timeout may hide a start that happened.
        """
        limit = self._limit(action)
        ids = {k: v for k, v in params.items() if k in ("Id", "ChannelId", "FlowId", "StreamName")}
        attempt = 0
        while True:
            if limit is not None and self.limiter is not None:
                lane = f":{self.lane}" if self.lane else ""
                self.limiter.acquire(f"tencent:{self._account}:{action}{lane}", limit)
            started = time.monotonic()
            try:
                response: dict[str, Any] = self._client(service).call_json(action, params)[
                    "Response"
                ]
            except TencentCloudSDKException as exc:
                error = map_sdk_error(exc, service=service, action=action)
            except (ValueError, KeyError, TypeError) as exc:
                # A body that is not the API 3.0 envelope (a proxy's error page, truncated JSON).
                error = CloudUnreachable(
                    f"malformed response: {exc}"[:500],
                    vendor=VENDOR,
                    code="MalformedResponse",
                    action=action,
                )
            else:
                logger.debug(
                    "Tencent %s %s ok in %.0f ms (request %s)",
                    action,
                    ids,
                    (time.monotonic() - started) * 1000,
                    response.get("RequestId", "-"),
                )
                return response
            retryable = isinstance(error, CloudTransientError) and (
                idempotent or isinstance(error, CloudRateLimited)
            )
            if not retryable or attempt >= self.max_retries:
                logger.warning(
                    "Tencent %s %s failed: %s %s (request %s)",
                    action,
                    ids,
                    error.code,
                    error.message,
                    error.request_id or "-",
                )
                raise error
            delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt) * random.uniform(0.5, 1.0)
            logger.info(
                "Tencent %s %s: %s, retry %s/%s in %.2f s",
                action,
                ids,
                error.code,
                attempt + 1,
                self.max_retries,
                delay,
            )
            time.sleep(delay)
            attempt += 1

    @staticmethod
    def _window(start: datetime | None, end: datetime | None) -> dict[str, Any]:
        """Omitted times take the cloud's defaults (the last hour)."""
        params = {}
        if start is not None:
            params["StartTime"] = _fmt(start)
        if end is not None:
            params["EndTime"] = _fmt(end)
        return params

    # --- StreamLive channels --------------------------------------------------------------
    def live_channel_list(self) -> list[LiveChannel]:
        """Every StreamLive channel with its full configuration, in one call (no paging)."""
        response = self._call("mdl", "DescribeStreamLiveChannels", {})
        return [_live_channel(raw) for raw in response.get("Infos") or []]

    def live_channel_get(self, *, channel_id: str) -> LiveChannel:
        response = self._call("mdl", "DescribeStreamLiveChannel", {"Id": channel_id})
        return _live_channel(response.get("Info") or {})

    def live_channel_start(self, *, channel_id: str) -> str:
        """Ask the channel to start (it goes through a transitional state: poll for RUNNING).
        Returns the request id, for the audit trail."""
        response = self._call("mdl", "StartStreamLiveChannel", {"Id": channel_id}, idempotent=False)
        logger.info("StreamLive channel %s: start requested", channel_id)
        return str(response.get("RequestId", ""))

    def live_channel_stop(self, *, channel_id: str) -> str:
        """Ask the channel to stop; returns the request id."""
        response = self._call("mdl", "StopStreamLiveChannel", {"Id": channel_id}, idempotent=False)
        logger.info("StreamLive channel %s: stop requested", channel_id)
        return str(response.get("RequestId", ""))

    def _channel_modify(
        self, channel_id: str, edit: Callable[[dict[str, Any], dict[str, Any]], None]
    ) -> LiveChannel:
        """Read-modify-write of ModifyStreamLiveChannel, a full replace (fact sheet 1.8): read
        the channel's raw configuration, let ``edit(request, raw)`` change its part of the
        request, and send every other field back as it was read. Raises ``CloudStateError``
        when the cloud refuses edits to a running channel. Returns the configuration sent."""
        raw = self._call("mdl", "DescribeStreamLiveChannel", {"Id": channel_id}).get("Info") or {}
        request = _modify_request(raw)
        edit(request, raw)
        self._call("mdl", "ModifyStreamLiveChannel", request)
        return _live_channel({**request, "State": raw.get("State")})

    def live_channel_failover_modify(
        self, *, channel_id: str, changes: Mapping[str, FailOverSettings | None]
    ) -> LiveChannel:
        """Set the FailOverSettings of some attached inputs (``None`` removes it) and nothing
        else (``_channel_modify``)."""

        def edit(request: dict[str, Any], raw: dict[str, Any]) -> None:
            unknown = set(changes) - {a.get("Id") for a in raw.get("AttachedInputs") or []}
            if unknown:
                raise CloudInvalidRequest(
                    f"inputs {sorted(unknown)} are not attached to channel {channel_id}",
                    vendor=VENDOR,
                    code="InputNotAttached",
                    action="ModifyStreamLiveChannel",
                )
            inputs = []
            for item in request.get("AttachedInputs") or []:
                if item.get("Id") in changes:
                    item = dict(item)
                    settings_ = changes[item["Id"]]
                    if settings_ is None:
                        item.pop("FailOverSettings", None)
                    else:
                        item["FailOverSettings"] = settings_.to_api()
                inputs.append(item)
            request["AttachedInputs"] = inputs

        sent = self._channel_modify(channel_id, edit)
        logger.info(
            "StreamLive channel %s: failover settings of %s modified", channel_id, sorted(changes)
        )
        return sent

    def live_channel_push_events_modify(
        self, *, channel_id: str, notify_url: str, notify_key: str
    ) -> LiveChannel:
        """Set ``EventNotifySettings.PushEventSettings`` (the push callbacks: URL and key) and
        nothing else (``_channel_modify``). The key is sent, never logged or returned."""

        def edit(request: dict[str, Any], raw: dict[str, Any]) -> None:
            push = {"NotifyUrl": notify_url}
            if notify_key:
                push["NotifyKey"] = notify_key
            notify = dict(request.get("EventNotifySettings") or {})
            notify["PushEventSettings"] = push
            request["EventNotifySettings"] = notify

        sent = self._channel_modify(channel_id, edit)
        logger.info("StreamLive channel %s: push callbacks set to %s", channel_id, notify_url)
        return sent

    # --- StreamLive inputs, alerts, logs, statistics, plans ------------------------------
    def live_input_list(self) -> list[LiveInput]:
        response = self._call("mdl", "DescribeStreamLiveInputs", {})
        return [_live_input(raw) for raw in response.get("Infos") or []]

    def live_input_get(self, *, input_id: str) -> LiveInput:
        response = self._call("mdl", "DescribeStreamLiveInput", {"Id": input_id})
        return _live_input(response.get("Info") or {})

    def live_channel_alert_list(self, *, channel_id: str) -> list[PipelineAlert]:
        """Both pipelines' alerts; ``Infos`` is an object here, not a list (models.py)."""
        infos = self._call("mdl", "DescribeStreamLiveChannelAlerts", {"ChannelId": channel_id})
        infos = infos.get("Infos") or {}
        return [
            PipelineAlert(
                pipeline=p,
                type=a.get("Type") or "",
                message=a.get("Message") or "",
                set_time=_dt(a.get("SetTime")),
                clear_time=_dt(a.get("ClearTime")),
            )
            for p, key in ((0, "Pipeline0"), (1, "Pipeline1"))
            for a in infos.get(key) or []
        ]

    def live_channel_log_list(
        self,
        *,
        channel_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[ChannelLogEntry]:
        """Pipeline logs, oldest first; the cloud's default window is the last hour."""
        params = {"ChannelId": channel_id, **self._window(start, end)}
        infos = self._call("mdl", "DescribeStreamLiveChannelLogs", params).get("Infos") or {}
        entries = [
            ChannelLogEntry(
                pipeline=p,
                type=e.get("Type") or "",
                time=_dt(e.get("Time")),
                client_ip=((e.get("Message") or {}).get("StreamInfo") or {}).get("ClientIp") or "",
            )
            for p, key in ((0, "Pipeline0"), (1, "Pipeline1"))
            for e in infos.get(key) or []
        ]
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(entries, key=lambda e: (e.time or epoch, e.pipeline))

    def live_channel_input_statistics(
        self,
        *,
        channel_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
        period: str = "1min",
    ) -> ChannelInputStatistics:
        """Per attached input and pipeline, the NetworkIn samples (``period``: 5s, 1min, ...)."""
        params = {"ChannelId": channel_id, "Period": period, **self._window(start, end)}
        response = self._call("mdl", "DescribeStreamLiveChannelInputStatistics", params)
        inputs = []
        for info in response.get("Infos") or []:
            stats = info.get("Statistics") or {}
            for p, key in ((0, "Pipeline0"), (1, "Pipeline1")):
                samples = sorted(
                    (
                        InputStatSample(
                            timestamp=datetime.fromtimestamp(int(s.get("Timestamp") or 0), UTC),
                            network_in_bps=int(s.get("NetworkIn") or 0),
                            network_valid=bool(s.get("NetworkValid")),
                        )
                        for s in stats.get(key) or []
                    ),
                    key=lambda s: s.timestamp,
                )
                inputs.append(
                    InputStatistics(
                        input_id=info.get("InputId") or "", pipeline=p, samples=tuple(samples)
                    )
                )
        return ChannelInputStatistics(channel_id=channel_id, inputs=tuple(inputs))

    def live_input_stream_state(self, *, input_id: str) -> InputStreamState:
        """Whether a stream arrives on each pipeline of an RTMP_PUSH / RTMPS_PUSH input."""
        info = self._call("mdl", "QueryInputStreamState", {"Id": input_id}).get("Info") or {}
        return InputStreamState(
            input_id=info.get("InputID") or input_id,  # "InputID", capital D (models.py)
            name=info.get("InputName") or "",
            protocol=info.get("Protocol") or "",
            streams=tuple(
                InputStreamStatus(
                    pipeline=p,
                    input_address=s.get("InputAddress") or "",
                    app_name=s.get("AppName") or "",
                    stream_name=s.get("StreamName") or "",
                    active=s.get("Status") == 1,
                )
                for p, s in enumerate(info.get("InputStreamInfoList") or [])
            ),
        )

    def live_channel_plan_list(self, *, channel_id: str) -> list[LivePlan]:
        response = self._call("mdl", "DescribeStreamLivePlans", {"ChannelId": channel_id})
        plans = []
        for raw in response.get("Infos") or []:
            timing = raw.get("TimingSettings") or {}
            event = raw.get("EventSettings") or {}
            plans.append(
                LivePlan(
                    event_name=raw.get("EventName") or "",
                    event_type=event.get("EventType") or "",
                    start_type=timing.get("StartType") or "",
                    time=_dt(timing.get("Time") or timing.get("StartTime")),
                    input_attachment=event.get("InputAttachment") or "",
                )
            )
        return plans

    # --- StreamLink -----------------------------------------------------------------------
    def link_flow_list(self, *, page_size: int = 100) -> list[LinkFlow]:
        """Every StreamLink flow, fetching all pages."""
        flows: list[LinkFlow] = []
        page_num = 1
        while True:
            response = self._call(
                "mdc", "DescribeStreamLinkFlows", {"PageNum": page_num, "PageSize": page_size}
            )
            infos = response.get("Infos") or []
            flows += [_link_flow(raw) for raw in infos]
            if not infos or page_num >= int(response.get("TotalPage") or 0) or page_num >= 1000:
                return flows
            page_num += 1

    def link_flow_get(self, *, flow_id: str) -> LinkFlow:
        response = self._call("mdc", "DescribeStreamLinkFlow", {"FlowId": flow_id})
        return _link_flow(response.get("Info") or {})

    def link_flow_start(self, *, flow_id: str) -> str:
        """Ask the flow to start; returns the request id."""
        response = self._call("mdc", "StartStreamLinkFlow", {"FlowId": flow_id}, idempotent=False)
        logger.info("StreamLink flow %s: start requested", flow_id)
        return str(response.get("RequestId", ""))

    def link_flow_stop(self, *, flow_id: str) -> str:
        """Ask the flow to stop; returns the request id."""
        response = self._call("mdc", "StopStreamLinkFlow", {"FlowId": flow_id}, idempotent=False)
        logger.info("StreamLink flow %s: stop requested", flow_id)
        return str(response.get("RequestId", ""))

    def link_flow_status(self, *, flow_id: str) -> FlowStatus:
        """Real-time state of every input and output of a flow (Connected/Waiting/Idle)."""
        response = self._call("mdc", "DescribeStreamLinkFlowRealtimeStatus", {"FlowId": flow_id})
        items = []
        for d in response.get("Datas") or []:
            common = d.get("CommonStatus") or {}
            kind = d.get("Type") or ""
            items.append(
                FlowEndpointStatus(
                    kind=kind,
                    id=(d.get("InputId") if kind == "Input" else d.get("OutputId")) or "",
                    protocol=d.get("Protocol") or "",
                    state=common.get("State") or "",
                    bitrate_bps=int(common.get("Bitrate") or 0),
                    connected_ms=int(common.get("ConnectedTime") or 0),
                    reconnections=int(common.get("Reconnections") or 0),
                )
            )
        return FlowStatus(
            flow_id=flow_id, timestamp=_dt(response.get("Timestamp")), items=tuple(items)
        )

    def link_flow_log_list(
        self,
        *,
        flow_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
        kinds: tuple[str, ...] = ("input", "output"),
        pipelines: tuple[int, ...] = (0, 1),
        page_num: int = 1,
        page_size: int = 100,
        newest_first: bool = True,
    ) -> Page[FlowLogEntry]:
        """One page of flow logs; the window defaults to the last hour and is at most 24 h."""
        end = end or datetime.now(UTC)
        start = start or end - timedelta(hours=1)
        params = {
            "FlowId": flow_id,
            "StartTime": _fmt(start),
            "EndTime": _fmt(end),
            "Type": list(kinds),
            "Pipeline": [str(p) for p in pipelines],  # strings in StreamLink (models.py)
            "PageNum": page_num,
            "PageSize": page_size,
            "SortType": "desc" if newest_first else "asc",
        }
        response = self._call("mdc", "DescribeStreamLinkFlowLogs", params)
        entries = tuple(
            FlowLogEntry(
                timestamp=_dt(e.get("Timestamp")),
                kind=e.get("Type") or "",
                io_id=e.get("InputOutputId") or "",
                io_name=e.get("InputOutputName") or "",
                protocol=e.get("Protocol") or "",
                event_code=e.get("EventCode") or "",
                event_message=e.get("EventMessage") or "",
                remote_ip=e.get("RemoteIp") or "",
                remote_port=str(e.get("RemotePort") or ""),
                pipeline=int(e.get("Pipeline") or 0),
            )
            for e in response.get("Infos") or []
        )
        return Page(
            items=entries,
            page_num=int(response.get("PageNum") or page_num),
            page_size=int(response.get("PageSize") or page_size),
            total_num=int(response.get("TotalNum") or 0),
            total_page=int(response.get("TotalPage") or 0),
        )

    # --- StreamPackage --------------------------------------------------------------------
    def package_channel_list(self, *, page_size: int = 100) -> list[PackageChannel]:
        channels: list[PackageChannel] = []
        page_num = 1
        while True:
            response = self._call(
                "mdp", "DescribeStreamPackageChannels", {"PageNum": page_num, "PageSize": page_size}
            )
            infos = response.get("Infos") or []
            channels += [_package_channel(raw) for raw in infos]
            if not infos or page_num >= int(response.get("TotalPage") or 0) or page_num >= 1000:
                return channels
            page_num += 1

    def package_channel_get(self, *, channel_id: str) -> PackageChannel:
        response = self._call("mdp", "DescribeStreamPackageChannel", {"Id": channel_id})
        return _package_channel(response.get("Info") or {})

    # --- CSS ------------------------------------------------------------------------------
    def css_stream_online_list(
        self, *, domain_name: str = "", app_name: str = "", page_size: int = 100
    ) -> list[CssStream]:
        """Every stream being pushed now (paged; the docs advise polling at > 1 min intervals)."""
        streams: list[CssStream] = []
        page_num = 1
        base = {k: v for k, v in (("DomainName", domain_name), ("AppName", app_name)) if v}
        while True:
            params = {**base, "PageNum": page_num, "PageSize": page_size}
            response = self._call("live", "DescribeLiveStreamOnlineList", params)
            infos = response.get("OnlineInfo") or []
            for raw in infos:
                streams.append(
                    CssStream(
                        stream_name=raw.get("StreamName") or "",
                        app_name=raw.get("AppName") or "",
                        domain_name=raw.get("DomainName") or "",
                        publish_times=tuple(
                            t
                            for t in (
                                _dt(p.get("PublishTime")) for p in raw.get("PublishTimeList") or []
                            )
                            if t is not None
                        ),
                    )
                )
            if not infos or page_num >= int(response.get("TotalPage") or 0) or page_num >= 1000:
                return streams
            page_num += 1

    @staticmethod
    def _css_params(domain_name: str, app_name: str, stream_name: str) -> dict[str, Any]:
        return {"DomainName": domain_name, "AppName": app_name, "StreamName": stream_name}

    def css_stream_state(
        self, *, domain_name: str, stream_name: str, app_name: str = "live"
    ) -> CssStreamState:
        params = self._css_params(domain_name, app_name, stream_name)
        state = self._call("live", "DescribeLiveStreamState", params).get("StreamState") or ""
        try:
            return CssStreamState(state)
        except ValueError:
            raise CloudInvalidRequest(
                f"unknown StreamState {state!r}",
                vendor=VENDOR,
                code="UnknownStreamState",
                action="DescribeLiveStreamState",
            ) from None

    def css_stream_drop(
        self, *, domain_name: str, stream_name: str, app_name: str = "live"
    ) -> None:
        """Disconnect the current push; succeeds on an inactive stream (DropLiveStream docs).

        The encoder may push again at once: this is not a block (that is ``css_stream_forbid``).
        """
        self._call("live", "DropLiveStream", self._css_params(domain_name, app_name, stream_name))
        logger.info("CSS stream %s/%s/%s dropped", domain_name, app_name, stream_name)

    def css_stream_forbid(
        self,
        *,
        domain_name: str,
        stream_name: str,
        app_name: str = "live",
        resume_at: datetime | None = None,
        reason: str = "",
    ) -> None:
        params = self._css_params(domain_name, app_name, stream_name)
        if resume_at is not None:
            params["ResumeTime"] = _fmt(resume_at)
        if reason:
            params["Reason"] = reason
        self._call("live", "ForbidLiveStream", params)
        logger.info("CSS stream %s/%s/%s forbidden", domain_name, app_name, stream_name)

    def css_stream_resume(
        self, *, domain_name: str, stream_name: str, app_name: str = "live"
    ) -> None:
        """Lift a forbid (ResumeLiveStream); not the inverse of a drop."""
        self._call("live", "ResumeLiveStream", self._css_params(domain_name, app_name, stream_name))
        logger.info("CSS stream %s/%s/%s resumed", domain_name, app_name, stream_name)


def _modify_request(raw: dict[str, Any]) -> dict[str, Any]:
    """A ModifyStreamLiveChannel body from a Describe answer, every field as it was read.

    Only what Modify does not take is left out (State; fields newer than the SDK), and nulls,
    which the SDK never sends either.
    """
    dropped = sorted(set(raw) - MODIFY_CHANNEL_FIELDS - {"State"})
    if dropped:
        logger.warning("StreamLive channel %s: not sent back on modify: %s", raw.get("Id"), dropped)
    return {
        k: _strip_none(v) for k, v in raw.items() if k in MODIFY_CHANNEL_FIELDS and v is not None
    }


def tencent_push_gateway() -> TencentGateway:
    """The gateway of the push refresh: the process's credentials and limiter, in a lane of
    its own (``CLOUD_PUSH_RATE_LIMIT_FRACTION`` of each action's quota beside the poll's)."""
    return _push_lane(tencent_gateway())


@functools.cache
def _push_lane(default: TencentGateway) -> TencentGateway:
    return TencentGateway(
        secret_id=default._secret_id,
        secret_key=default._secret_key,
        region=default.region,
        endpoint=default.endpoint,
        timeout_s=default.timeout_s,
        max_retries=default.max_retries,
        rate_fraction=settings.CLOUD_PUSH_RATE_LIMIT_FRACTION,
        limiter=default.limiter,
        lane="push",
    )


@functools.cache
def tencent_gateway() -> TencentGateway:
    """The process's gateway, from settings (tests call ``tencent_gateway.cache_clear()``)."""
    secret_id, secret_key = settings.TENCENTCLOUD_SECRET_ID, settings.TENCENTCLOUD_SECRET_KEY
    if not secret_id and settings.CLOUD_DEMO:
        from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY

        secret_id, secret_key = SIM_SECRET_ID, SIM_SECRET_KEY
    return TencentGateway(
        secret_id=secret_id,
        secret_key=secret_key,
        region=settings.TENCENTCLOUD_REGION,
        endpoint=settings.TENCENTCLOUD_ENDPOINT,
        timeout_s=settings.CLOUD_TIMEOUT_S,
        max_retries=settings.CLOUD_MAX_RETRIES,
        rate_fraction=settings.CLOUD_RATE_LIMIT_FRACTION,
        limiter=RateLimiter(settings.REDIS_URL),
    )
