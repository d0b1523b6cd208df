"""What the Tencent gateway returns: frozen dataclasses, never SDK objects or raw dicts.

Field names carry units (``loss_threshold_ms``, ``bitrate_bps``); times are aware UTC datetimes.
Absent and empty are kept apart where operators need to tell them apart: an attached input's
``failover`` is ``None`` when the API had no FailOverSettings (failover off), and a
``FailOverSettings`` whose ``is_empty`` is true when the console's toggle was switched on with no
backup chosen (the incident in seed 000: ``{"SecondaryInputId": "", "LossThreshold": 0, ...}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

T = TypeVar("T")

RECOVER_BEHAVIORS = ("CURRENT_PREFERRED", "PRIMARY_PREFERRED")


class CssStreamState(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    FORBID = "forbid"


@dataclass(frozen=True)
class FailOverSettings:
    """StreamLive input failover of one attached (primary) input."""

    secondary_input_id: str = ""
    loss_threshold_ms: int = 0
    recover_behavior: str = ""

    @property
    def is_empty(self) -> bool:
        """Toggled on in the console, nothing chosen: the shape real accounts return."""
        return not (self.secondary_input_id or self.loss_threshold_ms or self.recover_behavior)

    def to_api(self) -> dict[str, Any]:
        return {
            "SecondaryInputId": self.secondary_input_id,
            "LossThreshold": self.loss_threshold_ms,
            "RecoverBehavior": self.recover_behavior,
        }


@dataclass(frozen=True)
class AttachedInput:
    id: str
    failover: FailOverSettings | None  # None: the API returned no FailOverSettings (off)


@dataclass(frozen=True)
class OutputGroup:
    name: str
    type: str  # HLS, DASH, HLS_STREAM_PACKAGE, RTMP, ...
    destination_urls: tuple[str, ...]
    stream_package_id: str  # StreamPackageSettings.Id: the link to StreamPackage, or ""


@dataclass(frozen=True)
class LiveChannel:
    """A StreamLive channel (DescribeStreamLiveChannel(s) ``Info``)."""

    id: str
    name: str
    state: str  # IDLE, RUNNING, or a transitional value shown verbatim
    attached_inputs: tuple[AttachedInput, ...]
    output_groups: tuple[OutputGroup, ...]
    pipeline_fault_behavior: str  # PIPELINE_FAILOVER (default) or PIPELINE_FILLING
    tags: tuple[tuple[str, str], ...]
    # EventNotifySettings.PushEventSettings.NotifyUrl ("" when push callbacks are off). The
    # NotifyKey is never kept: it is a secret, and the console's own comes from settings.
    notify_url: str = ""

    @property
    def input_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.attached_inputs)


@dataclass(frozen=True)
class InputEndpoint:
    """One pipeline's address of a StreamLive input (InputSettings[i])."""

    pipeline: int
    input_address: str
    app_name: str
    stream_name: str
    source_url: str

    @property
    def push_url(self) -> str:
        """``${InputAddress}/${AppName}/${StreamName}`` for RTMP pushes (SDK docstring)."""
        if not self.input_address or not self.stream_name:
            return self.source_url
        return f"{self.input_address.rstrip('/')}/{self.app_name}/{self.stream_name}"


@dataclass(frozen=True)
class LiveInput:
    id: str
    name: str
    type: str  # RTMP_PUSH, RTP_PUSH, SRT_PUSH, HLS_PULL, ...
    region: str
    attached_channel_ids: tuple[str, ...]
    endpoints: tuple[InputEndpoint, ...]


@dataclass(frozen=True)
class PipelineAlert:
    pipeline: int
    type: str  # free text from the cloud ("RTMP Stream Not Found"): show verbatim
    message: str
    set_time: datetime | None
    clear_time: datetime | None

    @property
    def active(self) -> bool:
        return self.clear_time is None


@dataclass(frozen=True)
class ChannelLogEntry:
    pipeline: int
    type: str  # StreamStart is documented; failover type names are UNCONFIRMED
    time: datetime | None
    client_ip: str


@dataclass(frozen=True)
class InputStatSample:
    timestamp: datetime
    network_in_bps: int
    network_valid: bool


@dataclass(frozen=True)
class InputStatistics:
    """One attached input's samples on one pipeline."""

    input_id: str
    pipeline: int
    samples: tuple[InputStatSample, ...]

    @property
    def latest(self) -> InputStatSample | None:
        return self.samples[-1] if self.samples else None


@dataclass(frozen=True)
class ChannelInputStatistics:
    channel_id: str
    inputs: tuple[InputStatistics, ...]

    def active_input_id(self, pipeline: int) -> str | None:
        """The input carrying traffic in the newest sample of ``pipeline``, if any.

        StreamLive reports no "active input" field: the one with non-zero NetworkIn is it.
        """
        newest: tuple[datetime, str] | None = None
        for stats in self.inputs:
            sample = stats.latest
            if stats.pipeline != pipeline or sample is None or sample.network_in_bps <= 0:
                continue
            if newest is None or sample.timestamp > newest[0]:
                newest = (sample.timestamp, stats.input_id)
        return newest[1] if newest else None


@dataclass(frozen=True)
class InputStreamStatus:
    pipeline: int
    input_address: str
    app_name: str
    stream_name: str
    active: bool  # Status == 1: a stream is arriving


@dataclass(frozen=True)
class InputStreamState:
    """QueryInputStreamState (RTMP_PUSH / RTMPS_PUSH inputs only)."""

    input_id: str
    name: str
    protocol: str
    streams: tuple[InputStreamStatus, ...]


@dataclass(frozen=True)
class LivePlan:
    event_name: str
    event_type: str  # INPUT_SWITCH, TIMED_RECORD, SCTE35_*, ...
    start_type: str  # FIXED_TIME, IMMEDIATE, FIXED_PTS
    time: datetime | None
    input_attachment: str


@dataclass(frozen=True)
class LinkDestination:
    url: str
    stream_key: str

    @property
    def full_url(self) -> str:
        """``Url/StreamKey`` without a query: what a StreamLive input's push URL must equal."""
        key = self.stream_key.split("?", 1)[0]
        return f"{self.url.rstrip('/')}/{key}" if key else self.url


@dataclass(frozen=True)
class LinkInput:
    id: str
    name: str
    protocol: str
    addresses: tuple[str, ...]  # "ip:port" StreamLink listens on
    failover: bool  # FailOver == "OPEN"


@dataclass(frozen=True)
class LinkOutput:
    id: str
    name: str
    protocol: str
    output_type: str
    destinations: tuple[LinkDestination, ...]  # RTMP destinations (empty for other protocols)
    state: str


@dataclass(frozen=True)
class LinkFlow:
    """A StreamLink flow (DescribeFlow)."""

    id: str
    name: str
    state: str  # IDLE or RUNNING
    max_bandwidth_bps: int
    inputs: tuple[LinkInput, ...]
    outputs: tuple[LinkOutput, ...]
    created_at: datetime | None


@dataclass(frozen=True)
class FlowEndpointStatus:
    kind: str  # Input or Output
    id: str
    protocol: str
    state: str  # Connected, Waiting or Idle
    bitrate_bps: int
    connected_ms: int
    reconnections: int


@dataclass(frozen=True)
class FlowStatus:
    flow_id: str
    timestamp: datetime | None
    items: tuple[FlowEndpointStatus, ...]

    def connected(self, kind: str) -> bool:
        matching = [i for i in self.items if i.kind == kind]
        return bool(matching) and all(i.state == "Connected" for i in matching)


@dataclass(frozen=True)
class FlowLogEntry:
    timestamp: datetime | None
    kind: str  # input or output
    io_id: str
    io_name: str
    protocol: str
    event_code: str
    event_message: str
    remote_ip: str
    remote_port: str
    pipeline: int


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    page_num: int
    page_size: int
    total_num: int
    total_page: int


@dataclass(frozen=True)
class PackageEndpoint:
    name: str
    url: str
    protocol: str


@dataclass(frozen=True)
class PackageChannel:
    """A StreamPackage channel: two ingest URLs; the API reports no state at all."""

    id: str
    name: str
    protocol: str
    input_urls: tuple[str, ...]
    endpoints: tuple[PackageEndpoint, ...]


@dataclass(frozen=True)
class CssStream:
    """An online CSS stream (DescribeLiveStreamOnlineList)."""

    stream_name: str
    app_name: str
    domain_name: str
    publish_times: tuple[datetime, ...]
