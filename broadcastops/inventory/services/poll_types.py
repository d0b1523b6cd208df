"""The values one inventory poll passes between its steps (``sync`` -> ``rows`` -> ``status``).

They live apart from the steps, so that each step can name them without importing another.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from broadcastops.cloud import types
from broadcastops.inventory.models import CssStream, LinkFlow, LiveChannel, PackageChannel

# What the list calls returned, by service (``CloudService``): for StreamLive the channels and
# the inputs, for the others their list. A service that failed is missing.
Listed = dict[str, Any]


@dataclass
class PollReport:
    """What one poll did; the command, the task and the benchmark print it."""

    skipped: bool = False
    started_at: datetime | None = None
    duration_s: float = 0.0
    # Where the time went: the list calls, then the details with each channel's write (the
    # poll writes a channel as its details come in), of which inside write transactions, and
    # the longest wait to open one (SQLite's write lock, PostgreSQL's row lock).
    list_s: float = 0.0
    details_s: float = 0.0
    write_s: float = 0.0
    lock_wait_s: float = 0.0
    channels: int = 0
    details: int = 0
    changed: int = 0
    writes: int = 0
    events: int = 0
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ChannelDetails:
    """One channel's detail calls in this poll (``error`` set when they failed)."""

    statistics: types.ChannelInputStatistics | None
    alerts: list[types.PipelineAlert]
    logs: list[types.ChannelLogEntry]
    error: str = ""


@dataclass(frozen=True)
class ChannelSync:
    """What the channel step works from: this poll's lists and details, and the rows that the
    earlier steps (inputs, flows, packages, CSS) wrote in the same transaction."""

    listed: Listed
    cloud_channels: list[types.LiveChannel]
    channels_db: dict[str, LiveChannel]
    details: dict[str, ChannelDetails]
    flows: dict[str, LinkFlow]
    packages: dict[str, PackageChannel]
    css: dict[str, CssStream]
