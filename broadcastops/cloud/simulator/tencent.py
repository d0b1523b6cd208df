"""Simulated Tencent Cloud API 3.0: StreamLive (mdl), StreamLink (mdc), StreamPackage (mdp), CSS.

``TencentSimulator(scenario, options)`` holds the state; ``server.py`` calls
``handle(service=, action=, version=, region=, body=, headers=, host=)`` for each API request
and ``control(verb, body)`` for ``POST /_sim/<verb>``. The behaviour follows
``reference/tencent-media-api.md`` section 7; every guess the fact sheet marks UNCONFIRMED is
either an option (``SimOptions``) or a named constant here.

Time is evaluated lazily: nothing runs in the background. Each request first brings the
resources it touches up to "now" from timestamps (channel start/stop delays, signal changes,
failover deadlines), so a test that moves the clock (``/_sim/clock``) or waits gets the same
answer every time. All state sits behind one lock because the server is threaded; responses
share the stored dicts (never mutated in place once stored) instead of deep-copying them.

Scenario format (every object exactly as the APIs return it, so captured responses paste in)::

    {"mdl": {"channels": [StreamLiveChannelInfo...], "inputs": [InputInfo...],
             "plans": {"<channel id>": [PlanResp...]}},
     "mdc": {"flows": [DescribeFlow...]},
     "mdp": {"channels": [ChannelInfo...]},
     "live": {"streams": [{"StreamName", "AppName", "DomainName", "State"}...]},
     "signals": {"<StreamLive or StreamLink input id>": false | {"0": bool, "1": bool}},
     "flapping": {"<input id>": <period s: the signal is up one period, down the next>}}

Control verbs (``POST /_sim/<verb>``): ``signal`` {"input_id", "pipeline": 0|1|null,
"present"}; ``flapping`` {"input_id", "period_s": float|null}; ``clock`` {"advance_s"};
``css_push`` {"StreamName", "AppName"?, "DomainName"?}; ``deny`` {"actions": [...]};
``inspect`` {} (channel states and active inputs, for tests and debugging); ``callbacks``
{"mode": "send"|"drop", "delay_s"} (the push callbacks sent to a channel's NotifyUrl when an
RTMP input's signal goes or comes back: ``callbacks.py``; answers the switches and the log).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import random
import threading
import time
from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from typing import TYPE_CHECKING, Any

from broadcastops.cloud.simulator.callbacks import PushCallbacks, callback_body
from broadcastops.cloud.simulator.wire import TencentApiError, tencent_success

if TYPE_CHECKING:
    from broadcastops.cloud.simulator.server import SimOptions

logger = logging.getLogger(__name__)

VERSIONS = {"mdl": "2020-03-26", "mdc": "2020-08-28", "mdp": "2020-05-27", "live": "2018-08-01"}

# Transitional channel states: the SDK documents no enumeration (fact sheet 2.3, UNCONFIRMED).
STARTING, RUNNING, STOPPING, IDLE = "STARTING", "RUNNING", "STOPPING", "IDLE"

# AuthFailure.SignatureExpire beyond 5 minutes of clock skew (common error code table).
SIGNATURE_MAX_SKEW_S = 300
# Logs and statistics reach back 7 days (mdl/mdc API docs); StreamLink windows are <= 24 h.
HISTORY_S = 7 * 86400
MDC_MAX_WINDOW_S = 86400
# Channels and flows a scenario marks RUNNING have been running this long when it loads.
SCENARIO_RUN_AGE_S = 3000
# Bounded memory: the newest entries per pipeline are kept.
MAX_LOG_ENTRIES = 2000
# A flapping signal is replayed at most this many periods back when nobody looked for a while.
MAX_FLAP_CHANGES = 2000

# Documented per-API limits (fact sheet 6.4): 20/s for StreamLive, StreamLink, StreamPackage.
DEFAULT_RATE_PER_S = 20.0
CSS_RATES_PER_S = {
    "DescribeLiveStreamState": 300.0,
    "DropLiveStream": 100.0,
    "ResumeLiveStream": 100.0,
    "ForbidLiveStream": 100.0,
    "DescribeLiveStreamOnlineList": 500.0,
}

FAILOVER_DEFAULT_THRESHOLD_MS = 3000
RECOVER_BEHAVIORS = ("CURRENT_PREFERRED", "PRIMARY_PREFERRED")
STATS_PERIODS_S = {"5s": 5, "1min": 60, "5min": 300, "15min": 900}
# StreamLink log event codes: only "1000 Access Granted" is documented (UNCONFIRMED list).
FLOW_EVENT_CONNECTED = ("1000", "Access Granted")
FLOW_EVENT_DISCONNECTED = ("1001", "Connection Closed")
ALERT_NO_STREAM = "RTMP Stream Not Found"  # an official alarm Type example (api.json)

# Parameters each action accepts; "*" marks the required ones (api.json). Anything else is
# UnknownParameter, as the real gateway answers.
_MDL_MODIFY = (
    "Id* Name* AttachedInputs* OutputGroups* AudioTemplates VideoTemplates AVTemplates "
    "CaptionTemplates PlanSettings EventNotifySettings InputLossBehavior PipelineInputSettings "
    "InputAnalysisSettings Tags FrameCaptureTemplates GeneralSettings"
)
_CSS_STREAM = "AppName* DomainName* StreamName*"
PARAMS = {
    "mdl": {
        "DescribeStreamLiveChannels": "",
        "DescribeStreamLiveChannel": "Id*",
        "StartStreamLiveChannel": "Id*",
        "StopStreamLiveChannel": "Id*",
        "ModifyStreamLiveChannel": _MDL_MODIFY,
        "DescribeStreamLiveChannelAlerts": "ChannelId*",
        "DescribeStreamLiveChannelLogs": "ChannelId* StartTime EndTime",
        "DescribeStreamLiveChannelInputStatistics": "ChannelId* StartTime EndTime Period",
        "DescribeStreamLiveInputs": "",
        "DescribeStreamLiveInput": "Id*",
        "QueryInputStreamState": "Id*",
        "DescribeStreamLivePlans": "ChannelId*",
        "CreateStreamLivePlan": "ChannelId* Plan*",
    },
    "mdc": {
        "DescribeStreamLinkFlows": "PageNum PageSize",
        "DescribeStreamLinkFlow": "FlowId*",
        "StartStreamLinkFlow": "FlowId*",
        "StopStreamLinkFlow": "FlowId*",
        "DescribeStreamLinkFlowRealtimeStatus": "FlowId* InputIds OutputIds",
        "DescribeStreamLinkFlowLogs": (
            "FlowId* StartTime* EndTime* Type* Pipeline* PageSize* SortType PageNum"
        ),
    },
    "mdp": {
        "DescribeStreamPackageChannels": "PageNum PageSize",
        "DescribeStreamPackageChannel": "Id*",
    },
    "live": {
        "DescribeLiveStreamOnlineList": "DomainName AppName PageNum PageSize StreamName",
        "DescribeLiveStreamState": _CSS_STREAM,
        "DropLiveStream": _CSS_STREAM,
        "ResumeLiveStream": _CSS_STREAM,
        "ForbidLiveStream": _CSS_STREAM + " ResumeTime Reason",
    },
}


def _parse_params(spec: str) -> tuple[frozenset, tuple]:
    names = spec.split()
    return frozenset(n.rstrip("*") for n in names), tuple(n[:-1] for n in names if n[-1] == "*")


_PARAM_TABLE = {
    service: {action: _parse_params(spec) for action, spec in actions.items()}
    for service, actions in PARAMS.items()
}


# --- signing --------------------------------------------------------------------------------
def tc3_signature(
    secret_key: str,
    *,
    service: str,
    timestamp: int,
    host: str,
    content_type: str,
    body: bytes,
    method: str = "POST",
    query: str = "",
    unsigned_payload: bool = False,
) -> str:
    """TC3-HMAC-SHA256 over ``content-type`` and ``host`` (fact sheet 1.3)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    payload = b"UNSIGNED-PAYLOAD" if unsigned_payload else body
    canonical = "\n".join(
        [
            method,
            "/",
            query,
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )

    def _hmac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k_signing = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _parse_authorization(value: str) -> tuple[str, str, str, str, str]:
    """(secret id, date, service, signed headers, signature) from the Authorization header."""
    algorithm, _, rest = value.partition(" ")
    if algorithm != "TC3-HMAC-SHA256":
        raise ValueError("unsupported algorithm")
    parts = {}
    for item in rest.split(","):
        key, _, val = item.strip().partition("=")
        parts[key] = val
    secret_id, date, service, terminator = parts["Credential"].split("/")
    if terminator != "tc3_request":
        raise ValueError("bad credential scope")
    return secret_id, date, service, parts["SignedHeaders"], parts["Signature"]


# --- time -----------------------------------------------------------------------------------
def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _parse_iso(value: object, name: str) -> float:
    if not isinstance(value, str):
        raise TencentApiError(f"InvalidParameter.{name}", f"{name} must be a UTC time string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TencentApiError(
            f"InvalidParameter.{name}", f"{name} must look like 2020-01-01T12:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class _Timeline:
    """A boolean over time: an initial value and the times it flipped (append-only)."""

    __slots__ = ("initial", "times", "values")

    def __init__(self, initial: bool):
        self.initial = initial
        self.times: list[float] = []
        self.values: list[bool] = []

    def at(self, t: float) -> bool:
        i = bisect_right(self.times, t)
        return self.values[i - 1] if i else self.initial

    def set(self, t: float, value: bool) -> None:
        if self.times and t < self.times[-1]:
            t = self.times[-1]
        if self.at(t) != value:
            self.times.append(t)
            self.values.append(value)

    def next_change(self, t: float) -> float | None:
        i = bisect_right(self.times, t)
        return self.times[i] if i < len(self.times) else None

    def changes(self, a: float, b: float) -> list[float]:
        return self.times[bisect_right(self.times, a) : bisect_right(self.times, b)]


class _Flap:
    """A signal that is up for ``period`` seconds, down for the next, from ``epoch`` on."""

    __slots__ = ("epoch", "period")

    def __init__(self, epoch: float, period: float):
        self.epoch = epoch
        self.period = max(float(period), 0.1)

    def at(self, t: float) -> bool:
        return t < self.epoch or math.floor((t - self.epoch) / self.period) % 2 == 0

    def next_change(self, t: float) -> float | None:
        if t < self.epoch:
            return self.epoch + self.period
        return self.epoch + (math.floor((t - self.epoch) / self.period) + 1) * self.period

    def changes(self, a: float, b: float) -> list[float]:
        a = max(a, b - MAX_FLAP_CHANGES * self.period)
        out, t = [], self.next_change(a)
        while t is not None and t <= b:
            out.append(t)
            t = self.next_change(t)
        return out


class _Bucket:
    """A token bucket of one second's worth of calls."""

    __slots__ = ("rate", "tokens", "updated")

    def __init__(self, rate: float, now: float):
        self.rate, self.tokens, self.updated = rate, rate, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class _Channel:
    """A StreamLive channel: its stored config (the API object without State) and runtime."""

    config: dict
    state: str = IDLE
    since: float = 0.0
    evaluated: float = 0.0
    active: list = field(default_factory=lambda: [None, None])
    primary: list = field(default_factory=lambda: [None, None])
    loss_since: list = field(default_factory=lambda: [None, None])
    history: list = field(default_factory=lambda: [[], []])
    logs: list = field(default_factory=lambda: [[], []])
    alerts: list = field(default_factory=lambda: [[], []])
    open_alerts: list = field(default_factory=lambda: [{}, {}])
    run_since: float | None = None


@dataclass
class _Flow:
    info: dict  # DescribeFlow without State
    running: _Timeline
    feeds: list = field(default_factory=list)  # (StreamLive input id, pipeline)


def _require(cond: object, code: str, message: str) -> None:
    if not cond:
        raise TencentApiError(code, message)


def _page(params: dict, *, default_size: int, max_size: int) -> tuple[int, int]:
    num, size = params.get("PageNum", 1), params.get("PageSize", default_size)
    _require(
        isinstance(num, int) and 1 <= num <= 1000, "InvalidParameter.PageNum", "PageNum: 1-1000"
    )
    _require(
        isinstance(size, int) and 1 <= size <= max_size,
        "InvalidParameter.PageSize",
        f"PageSize: 1-{max_size}",
    )
    return num, size


def _keep_unset_as_null(old: Any, new: Any) -> Any:
    """``new`` with every member that is null in ``old`` and absent from ``new`` set to null,
    recursively (objects by key, lists of objects by position)."""
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(new)
        for key, value in old.items():
            if key not in merged:
                if value is None:
                    merged[key] = None
            else:
                merged[key] = _keep_unset_as_null(value, merged[key])
        return merged
    if isinstance(old, list) and isinstance(new, list):
        return [_keep_unset_as_null(o, n) for o, n in zip(old, new, strict=False)] + new[len(old) :]
    return new


def _is_empty_failover(settings: dict | None) -> bool:
    """The object the console writes when failover is toggled on with no backup (seed 000)."""
    return isinstance(settings, dict) and not any(
        settings.get(k) for k in ("SecondaryInputId", "LossThreshold", "RecoverBehavior")
    )


class TencentSimulator:
    """The four Tencent media services' state and their API 3.0 actions."""

    def __init__(self, scenario: dict, options: SimOptions) -> None:
        self.options = options
        self._lock = threading.RLock()
        self._offset = 0.0  # /_sim/clock moves simulated time forward
        self._rng = random.Random(getattr(options, "seed", 7))
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._denied: set[str] = set()
        self.callbacks = PushCallbacks(self.now)
        self._load(scenario or {})

    # --- clock and ids -----------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._offset

    def _new_id(self, now: float) -> str:
        # Real ids: 8 hex digits of a Unix time, then 12 more (e.g. 69425CAF0000BBDE05D7).
        return f"{int(now):08X}{self._rng.getrandbits(48):012X}"

    # --- scenario ------------------------------------------------------------------------------
    def _load(self, scenario: dict) -> None:
        now = self.now()
        self._epoch = now
        mdl = scenario.get("mdl") or {}
        self._inputs: dict[str, dict] = {i["Id"]: dict(i) for i in mdl.get("inputs") or []}
        self._channels: dict[str, _Channel] = {}
        self._plans: dict[str, list] = {k: list(v) for k, v in (mdl.get("plans") or {}).items()}
        for info in mdl.get("channels") or []:
            config = {k: v for k, v in info.items() if k != "State"}
            for attached in config.get("AttachedInputs") or []:
                if attached["Id"] not in self._inputs:
                    # A pasted channel may come without its inputs: make plausible ones.
                    self._inputs[attached["Id"]] = self._synth_input(attached["Id"])
            channel = _Channel(config=config, since=now, evaluated=now)
            self._channels[config["Id"]] = channel
            state = info.get("State") or IDLE
            if state in (RUNNING, STARTING, STOPPING):
                channel.state = state
        self._attach_index()

        self._flows: dict[str, _Flow] = {}
        for info in (scenario.get("mdc") or {}).get("flows") or []:
            running = _Timeline(False)
            if info.get("State") == RUNNING:
                running.set(now - SCENARIO_RUN_AGE_S, True)
            self._flows[info["FlowId"]] = _Flow(
                info={k: v for k, v in info.items() if k != "State"}, running=running
            )
        self._package = [dict(c) for c in (scenario.get("mdp") or {}).get("channels") or []]
        self._package_by_id = {c["Id"]: c for c in self._package}

        self._streams: dict[tuple[str, str, str], dict] = {}
        for s in (scenario.get("live") or {}).get("streams") or []:
            key = (s["DomainName"], s.get("AppName") or "live", s["StreamName"])
            published = s.get("PublishTime") or iso(now - SCENARIO_RUN_AGE_S)
            self._streams[key] = {"State": s.get("State") or "active", "PublishTime": published}
        self._domains = {k[0] for k in self._streams}

        self._signals: dict[tuple[str, int], _Timeline] = {}
        for input_id, value in (scenario.get("signals") or {}).items():
            for p in (0, 1):
                present = value.get(str(p), True) if isinstance(value, dict) else bool(value)
                self._signals[(input_id, p)] = _Timeline(bool(present))
        self._flaps = {k: _Flap(now, v) for k, v in (scenario.get("flapping") or {}).items()}
        self._wire_flows()
        # RUNNING channels have been running for a while, so history and statistics exist.
        for channel in self._channels.values():
            if channel.state == RUNNING:
                channel.since = now - SCENARIO_RUN_AGE_S
                self._run_begin(channel, channel.since)

    def _synth_input(self, input_id: str) -> dict:
        key = input_id[-8:].lower()
        return {
            "Region": "ap-seoul",
            "Id": input_id,
            "Name": f"input-{key}",
            "Type": "RTMP_PUSH",
            "SecurityGroupIds": [],
            "AttachedChannels": [],
            "InputSettings": [
                {
                    "AppName": "live",
                    "StreamName": f"s{key}{p}",
                    "InputAddress": f"rtmp://{key}.ap-seoul-{p + 1}.streamlive.myqcloud.com",
                }
                for p in (0, 1)
            ],
        }

    def _attach_index(self) -> None:
        """Recompute every input's AttachedChannels from the channels (kept consistent)."""
        attached: dict[str, list[str]] = {i: [] for i in self._inputs}
        for cid, channel in self._channels.items():
            for a in channel.config.get("AttachedInputs") or []:
                attached.setdefault(a["Id"], []).append(cid)
        for iid, info in self._inputs.items():
            if info.get("AttachedChannels") != attached[iid]:
                self._inputs[iid] = {**info, "AttachedChannels": attached[iid]}

    @staticmethod
    def _norm_url(url: str) -> str:
        url = url.split("?", 1)[0].rstrip("/")
        scheme, sep, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        host = host.lower().removesuffix(":1935")
        return f"{scheme.lower()}{sep}{host}{slash}{path}"

    def _wire_flows(self) -> None:
        """Which StreamLive input pipeline each StreamLink RTMP output feeds (URL+StreamKey)."""
        push = {}
        for iid, info in self._inputs.items():
            for p, s in enumerate((info.get("InputSettings") or [])[:2]):
                if s.get("InputAddress") and s.get("StreamName"):
                    url = f"{s['InputAddress']}/{s.get('AppName', '')}/{s['StreamName']}"
                    push[self._norm_url(url)] = (iid, p)
        self._feeders: dict[tuple[str, int], list[_Flow]] = {}
        self._flow_inputs: dict[str, _Flow] = {}
        for flow in self._flows.values():
            for group in flow.info.get("InputGroup") or []:
                self._flow_inputs[group["InputId"]] = flow
            for out in flow.info.get("OutputGroup") or []:
                for d in (out.get("RTMPSettings") or {}).get("Destinations") or []:
                    target = push.get(
                        self._norm_url(f"{d.get('Url', '')}/{d.get('StreamKey', '')}")
                    )
                    if target:
                        flow.feeds.append(target)
                        self._feeders.setdefault(target, []).append(flow)

    # --- signals -------------------------------------------------------------------------------
    def _signal(self, input_id: str, p: int) -> _Timeline:
        key = (input_id, p)
        if key not in self._signals:
            self._signals[key] = _Timeline(True)
        return self._signals[key]

    def _flow_input_present(self, flow: _Flow, t: float) -> bool:
        groups = flow.info.get("InputGroup") or []
        return not groups or any(
            self._signal(g["InputId"], 0).at(t) or self._signal(g["InputId"], 1).at(t)
            for g in groups
        )

    def _present(self, input_id: str, p: int, t: float) -> bool:
        """Whether a StreamLive input pipeline receives a stream at ``t``."""
        if not self._signal(input_id, p).at(t):
            return False
        flap = self._flaps.get(input_id)
        if flap is not None and not flap.at(t):
            return False
        feeders = self._feeders.get((input_id, p))
        if feeders:  # fed by StreamLink: only while a feeding flow runs with its source up
            return any(f.running.at(t) and self._flow_input_present(f, t) for f in feeders)
        return True

    def _sources(self, input_id: str, p: int) -> list[_Timeline | _Flap]:
        sources: list[_Timeline | _Flap] = [self._signal(input_id, p)]
        if input_id in self._flaps:
            sources.append(self._flaps[input_id])
        for flow in self._feeders.get((input_id, p), ()):
            sources.append(flow.running)
            for g in flow.info.get("InputGroup") or []:
                sources += [self._signal(g["InputId"], 0), self._signal(g["InputId"], 1)]
        return sources

    # --- StreamLive runtime ----------------------------------------------------------------
    def _input_type(self, input_id: str) -> str:
        return (self._inputs.get(input_id) or {}).get("Type", "")

    def _failover_target(
        self, channel: _Channel, input_id: str | None
    ) -> tuple[str, float, str] | None:
        """(secondary id, threshold s, recover behaviour) when failover is effective, else None."""
        attached = {a["Id"]: a for a in channel.config.get("AttachedInputs") or []}
        settings = (attached.get(input_id) or {}).get("FailOverSettings")
        if not isinstance(settings, dict):
            return None
        secondary = settings.get("SecondaryInputId") or ""
        threshold = settings.get("LossThreshold")
        threshold = FAILOVER_DEFAULT_THRESHOLD_MS if threshold is None else threshold
        # The console rule (fact sheet 2.2): "" / 0 is misconfigured, and does nothing.
        if not secondary or secondary == input_id or secondary not in attached or threshold < 1000:
            return None
        behavior = settings.get("RecoverBehavior") or "CURRENT_PREFERRED"
        return secondary, threshold / 1000.0, behavior

    def _log(self, channel: _Channel, p: int, t: float, log_type: str, input_id: str) -> None:
        # A stable fake encoder address per input (documentation range, not a real host).
        octet = int(hashlib.sha256(input_id.encode()).hexdigest()[:2], 16) % 250 + 2
        video = {"Pid": 256, "Codec": "h264", "Fps": 30, "Rate": 6000000}
        audio = {"Pid": 257, "Codec": "aac", "Fps": 47, "Rate": 128000, "SampleRate": 48000}
        entry = {
            "Type": log_type,
            "Time": iso(t),
            "Message": {
                "StreamInfo": {
                    "ClientIp": f"203.0.113.{octet}",
                    "Video": [{**video, "Width": 1920, "Height": 1080}],
                    "Audio": [audio],
                    "Scte35": [],
                }
            },
        }
        logs = channel.logs[p]
        logs.append(entry)
        if len(logs) > MAX_LOG_ENTRIES:
            del logs[: len(logs) - MAX_LOG_ENTRIES]

    def _alert_set(self, channel: _Channel, p: int, t: float, input_id: str) -> None:
        if input_id in channel.open_alerts[p]:
            return
        alert = {
            "SetTime": iso(t),
            "ClearTime": "",
            "Type": ALERT_NO_STREAM,
            "Message": f"No RTMP stream on input {input_id} (pipeline {p})",
        }
        channel.alerts[p].append(alert)
        channel.open_alerts[p][input_id] = len(channel.alerts[p]) - 1
        if len(channel.alerts[p]) > MAX_LOG_ENTRIES:
            drop = len(channel.alerts[p]) - MAX_LOG_ENTRIES
            del channel.alerts[p][:drop]
            channel.open_alerts[p] = {k: v - drop for k, v in channel.open_alerts[p].items()}

    def _alert_clear(self, channel: _Channel, p: int, t: float, input_id: str) -> None:
        index = channel.open_alerts[p].pop(input_id, None)
        if index is not None and index >= 0:
            # Replace, never mutate: a response being serialised may hold the old dict.
            channel.alerts[p][index] = {**channel.alerts[p][index], "ClearTime": iso(t)}

    def _switch(self, channel: _Channel, p: int, t: float, input_id: str | None) -> None:
        channel.active[p] = input_id
        channel.history[p].append((t, input_id))

    def _run_begin(self, channel: _Channel, t: float) -> None:
        channel.run_since = channel.evaluated = t
        first = (channel.config.get("AttachedInputs") or [{}])[0].get("Id")
        for p in (0, 1):
            channel.primary[p] = None
            channel.loss_since[p] = None
            self._switch(channel, p, t, first)
            if first and self._present(first, p, t):
                self._log(channel, p, t, "StreamStart", first)
            elif first:
                channel.loss_since[p] = t
                self._alert_set(channel, p, t, first)

    def _run_end(self, channel: _Channel, t: float) -> None:
        for p in (0, 1):
            for input_id in list(channel.open_alerts[p]):
                self._alert_clear(channel, p, t, input_id)
            self._switch(channel, p, t, None)
        channel.run_since = None

    def _lifecycle(self, channel: _Channel, now: float) -> None:
        if channel.state == STARTING and now >= channel.since + self.options.start_delay_s:
            t_run = channel.since + self.options.start_delay_s
            channel.state, channel.since = RUNNING, t_run
            self._run_begin(channel, t_run)
        elif channel.state == STOPPING and now >= channel.since + self.options.stop_delay_s:
            channel.state, channel.since = IDLE, channel.since + self.options.stop_delay_s

    def _advance(self, channel: _Channel, now: float) -> None:
        """Bring a channel's state, active inputs, logs and alerts up to ``now``."""
        self._lifecycle(channel, now)
        if channel.state == RUNNING and now > channel.evaluated:
            for p in (0, 1):
                self._advance_pipeline(channel, p, channel.evaluated, now)
            channel.evaluated = now

    def _advance_pipeline(self, channel: _Channel, p: int, t0: float, t1: float) -> None:
        attached = [a["Id"] for a in channel.config.get("AttachedInputs") or []]
        sources = [s for iid in attached for s in self._sources(iid, p)]
        t = t0
        while True:
            candidates = [c for c in (s.next_change(t) for s in sources) if c is not None]
            target = self._failover_target(channel, channel.active[p])
            if channel.loss_since[p] is not None and target is not None:
                deadline = channel.loss_since[p] + target[1]
                if deadline > t:
                    candidates.append(deadline)
            if not candidates:
                return
            t = min(candidates)
            if t > t1:
                return
            self._evaluate(channel, p, t)

    def _evaluate(self, channel: _Channel, p: int, t: float) -> None:
        """Apply the input-failover rules to one pipeline at one instant."""
        active = channel.active[p]
        for input_id in list(channel.open_alerts[p]):
            if self._present(input_id, p, t):
                self._alert_clear(channel, p, t, input_id)
        if active is None:
            return
        present = self._present(active, p, t)
        if not present and channel.loss_since[p] is None:
            channel.loss_since[p] = t
            self._alert_set(channel, p, t, active)
        elif present and channel.loss_since[p] is not None:
            channel.loss_since[p] = None
            self._log(channel, p, t, "StreamStart", active)
        primary = channel.primary[p]
        if primary is not None and primary != active:
            back = self._failover_target(channel, primary)
            # PRIMARY_PREFERRED: back to the primary as soon as it recovers (failover doc).
            if back and back[2] == "PRIMARY_PREFERRED" and self._present(primary, p, t):
                self._log(channel, p, t, self.options.recover_log_type, primary)
                self._switch(channel, p, t, primary)
                channel.primary[p] = None
                channel.loss_since[p] = None
                return
        target = self._failover_target(channel, active)
        if (
            target
            and channel.loss_since[p] is not None
            and t >= channel.loss_since[p] + target[1] - 1e-9
            and self._present(target[0], p, t)
        ):
            self._log(channel, p, t, self.options.failover_log_type, target[0])
            self._switch(channel, p, t, target[0])
            channel.primary[p] = active
            channel.loss_since[p] = None

    def _active_at(self, channel: _Channel, p: int, t: float) -> str | None:
        history = channel.history[p]
        i = bisect_right(history, t, key=lambda h: h[0])
        return history[i - 1][1] if i else None

    # --- dispatch ------------------------------------------------------------------------------
    def handle(
        self,
        *,
        service: str,
        action: str,
        version: str,
        region: str,
        body: bytes,
        headers: Message,
        host: str,
    ) -> dict:
        if service not in VERSIONS:
            raise TencentApiError("NoSuchProduct", f"The product `{service}` does not exist.")
        if version and version != VERSIONS[service]:
            raise TencentApiError(
                "NoSuchVersion", f"The API version `{version}` of `{service}` does not exist."
            )
        secret_id = self._authenticate(service, body, headers, host)
        table = _PARAM_TABLE[service]
        if action not in table:
            raise TencentApiError(
                "InvalidAction", f"The requested action `{action}` does not exist."
            )
        if action in self._denied:
            raise TencentApiError(
                "AuthFailure.UnauthorizedOperation",
                f"The request is not authorized: CAM denies `{service}:{action}`.",
            )
        # Region is required for StreamLive, StreamLink and StreamPackage, not for CSS (1.1).
        if service != "live" and not region:
            raise TencentApiError(
                "MissingParameter", "The request is missing a required parameter `Region`."
            )
        if self.options.rate_limit:
            self._throttle(service, secret_id, action)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise TencentApiError(
                "InvalidParameter", "The request body is not valid JSON."
            ) from None
        if not isinstance(params, dict):
            raise TencentApiError("InvalidParameter", "The request body must be a JSON object.")
        allowed, required = table[action]
        for name in params:
            if name not in allowed:
                raise TencentApiError(
                    "UnknownParameter", f"The parameter `{name}` is not recognized."
                )
        for name in required:
            if params.get(name) in (None, ""):
                raise TencentApiError(
                    "MissingParameter", f"The request is missing a required parameter `{name}`."
                )
        handler = getattr(self, f"_{service}_{action}")
        with self._lock:
            result = handler(params, self.now())
        return tencent_success(result)

    def _authenticate(self, service: str, body: bytes, headers: Message, host: str) -> str:
        authorization = headers.get("Authorization", "")
        try:
            secret_id, _date, _scope_service, signed, signature = _parse_authorization(
                authorization
            )
        except (KeyError, ValueError):
            if not self.options.verify_signature:
                return ""
            raise TencentApiError(
                "AuthFailure.InvalidAuthorization", "The Authorization header is malformed."
            ) from None
        if not self.options.verify_signature:
            return secret_id
        if secret_id != self.options.secret_id:
            raise TencentApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        try:
            timestamp = int(headers.get("X-TC-Timestamp", ""))
        except ValueError:
            raise TencentApiError(
                "MissingParameter", "The request is missing a required parameter `Timestamp`."
            ) from None
        # Signatures are checked against the real clock: /_sim/clock only moves simulated state.
        if abs(time.time() - timestamp) > SIGNATURE_MAX_SKEW_S:
            raise TencentApiError(
                "AuthFailure.SignatureExpire",
                "Signature expired: the timestamp and the server time differ by over 5 minutes.",
            )
        if signed != "content-type;host":
            raise TencentApiError(
                "AuthFailure.SignatureFailure", "SignedHeaders must be content-type;host."
            )
        expected = tc3_signature(
            self.options.secret_key,
            service=service,
            timestamp=timestamp,
            host=host,
            content_type=headers.get("Content-Type", ""),
            body=body,
            unsigned_payload=headers.get("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD",
        )
        if not hmac.compare_digest(expected, signature):
            raise TencentApiError(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Check your signature.",
            )
        return secret_id

    def _throttle(self, service: str, secret_id: str, action: str) -> None:
        rate = CSS_RATES_PER_S.get(action, DEFAULT_RATE_PER_S)
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get((secret_id, action))
            if bucket is None:
                bucket = self._buckets[(secret_id, action)] = _Bucket(rate, now)
            allowed = bucket.take(now)
        if not allowed:
            raise TencentApiError(
                "RequestLimitExceeded",
                f"Your current request times exceeds the frequency limit `{int(rate)}` per second "
                f"for `{action}`. Please reduce the frequency of calls.",
            )

    # --- StreamLive ----------------------------------------------------------------------------
    def _channel(
        self, channel_id: object, now: float, code: str = "InvalidParameter.NotFound"
    ) -> _Channel:
        channel = self._channels.get(channel_id) if isinstance(channel_id, str) else None
        if channel is None:
            raise TencentApiError(code, f"Channel `{channel_id}` is not found.")
        self._advance(channel, now)
        return channel

    @staticmethod
    def _channel_info(channel: _Channel) -> dict:
        info = {"Id": channel.config["Id"], "State": channel.state}
        info.update(channel.config)
        return info

    def _mdl_DescribeStreamLiveChannels(self, params: dict, now: float) -> dict:
        infos = []
        for channel in self._channels.values():
            self._advance(channel, now)
            infos.append(self._channel_info(channel))
        return {"Infos": infos}

    def _mdl_DescribeStreamLiveChannel(self, params: dict, now: float) -> dict:
        return {"Info": self._channel_info(self._channel(params["Id"], now))}

    def _mdl_StartStreamLiveChannel(self, params: dict, now: float) -> dict:
        channel = self._channel(params["Id"], now)
        if channel.state != IDLE:
            raise TencentApiError(
                "InvalidParameter.StateError",
                f"Channel is {channel.state}; it can start from IDLE only.",
            )
        channel.state, channel.since = STARTING, now
        logger.info("cloudsim: StreamLive channel %s starting", params["Id"])
        return {}

    def _mdl_StopStreamLiveChannel(self, params: dict, now: float) -> dict:
        channel = self._channel(params["Id"], now)
        if channel.state not in (RUNNING, STARTING):
            raise TencentApiError(
                "InvalidParameter.StateError",
                f"Channel is {channel.state}; only a running channel stops.",
            )
        if channel.state == RUNNING:
            self._run_end(channel, now)
        channel.state, channel.since = STOPPING, now
        logger.info("cloudsim: StreamLive channel %s stopping", params["Id"])
        return {}

    def _mdl_ModifyStreamLiveChannel(self, params: dict, now: float) -> dict:
        channel = self._channel(params["Id"], now)
        if channel.state != IDLE and not self.options.modify_running_allowed:
            # Modify-while-running is UNCONFIRMED (fact sheet 2.5): refused unless the option says.
            raise TencentApiError(
                "InvalidParameter.StateError",
                f"Channel is {channel.state}; stop it before editing.",
            )
        _require(isinstance(params["Name"], str), "InvalidParameter.Name", "Name must be a string.")
        attached = params["AttachedInputs"]
        _require(
            isinstance(attached, list) and 1 <= len(attached) <= 5,
            "InvalidParameter.AttachedInputs",
            "AttachedInputs takes 1 to 5 inputs.",
        )
        groups = params["OutputGroups"]
        _require(
            isinstance(groups, list) and 1 <= len(groups) <= 10,
            "InvalidParameter.OutputGroups",
            "OutputGroups takes 1 to 10 groups.",
        )
        ids = []
        for item in attached:
            _require(
                isinstance(item, dict) and isinstance(item.get("Id"), str),
                "InvalidParameter.AttachedInputs",
                "Each attached input needs an Id.",
            )
            _require(
                item["Id"] in self._inputs,
                "InvalidParameter.AttachedInputs",
                f"Input `{item['Id']}` is not found.",
            )
            _require(
                item["Id"] not in ids,
                "InvalidParameter.AttachedInputs",
                f"Input `{item['Id']}` is attached twice.",
            )
            others = [c for c in self._inputs[item["Id"]]["AttachedChannels"] if c != params["Id"]]
            _require(
                not others,
                "InvalidParameter.AlreadyAssociatedChannel",
                f"Input `{item['Id']}` is already attached to channel {others[:1]}.",
            )
            ids.append(item["Id"])
        for item in attached:
            self._validate_failover(item, ids)
        old_attached = {a["Id"] for a in channel.config.get("AttachedInputs") or []}
        # A full replace: the request becomes the configuration. Members the SDK never sends
        # because they are null stay null, as the cloud reports unset members (not absent).
        channel.config = _keep_unset_as_null(channel.config, dict(params))
        if old_attached != set(ids):
            self._attach_index()
        if channel.state == RUNNING:
            for p in (0, 1):
                if channel.active[p] not in ids:
                    self._switch(channel, p, now, ids[0])
                    channel.primary[p] = None
                    channel.loss_since[p] = None
                    self._evaluate(channel, p, now)
        logger.info("cloudsim: StreamLive channel %s modified", params["Id"])
        return {"TagMsg": ""}

    def _validate_failover(self, item: dict, ids: list[str]) -> None:
        settings = item.get("FailOverSettings")
        # The empty object is accepted and echoed back unchanged: real accounts hold it (seed 000).
        if settings is None or _is_empty_failover(settings):
            return
        code = "InvalidParameter.AttachedInputs"  # the code for bad failover is UNCONFIRMED
        _require(isinstance(settings, dict), code, "FailOverSettings must be an object.")
        secondary = settings.get("SecondaryInputId")
        _require(
            isinstance(secondary, str) and secondary in ids and secondary != item["Id"],
            code,
            f"SecondaryInputId of `{item['Id']}` must be another input attached to this channel.",
        )
        _require(
            self._input_type(secondary) == self._input_type(item["Id"]),
            code,
            "The backup input must be of the same type as the primary.",
        )
        threshold = settings.get("LossThreshold")
        _require(
            threshold is None or (isinstance(threshold, int) and 1000 <= threshold <= 86400000),
            code,
            "LossThreshold must be within [1000, 86400000] ms.",
        )
        behavior = settings.get("RecoverBehavior")
        _require(
            behavior is None or behavior in RECOVER_BEHAVIORS,
            code,
            "RecoverBehavior must be CURRENT_PREFERRED or PRIMARY_PREFERRED.",
        )

    def _mdl_DescribeStreamLiveChannelAlerts(self, params: dict, now: float) -> dict:
        channel = self._channel(params["ChannelId"], now)
        since = now - 86400
        infos: dict[str, list | int] = {}
        for p, name in ((0, "Pipeline0"), (1, "Pipeline1")):
            infos[name] = [
                a
                for a in channel.alerts[p]
                if not a["ClearTime"] or _parse_iso(a["ClearTime"], "ClearTime") >= since
            ]
        infos["PipelineAActiveAlerts"] = len(channel.open_alerts[0])
        infos["PipelineBActiveAlerts"] = len(channel.open_alerts[1])
        return {"Infos": infos}

    @staticmethod
    def _window(
        params: dict, now: float, *, max_window: float | None = None
    ) -> tuple[float, float]:
        start = _parse_iso(params["StartTime"], "StartTime") if params.get("StartTime") else None
        end = _parse_iso(params["EndTime"], "EndTime") if params.get("EndTime") else None
        # Defaults: the last hour; end = start + 1 h (mdl API docs).
        if start is None:
            start = (end - 3600) if end is not None else now - 3600
        if end is None:
            end = start + 3600
        _require(
            start >= now - HISTORY_S,
            "InvalidParameter.StartTime",
            "StartTime: the last 7 days only.",
        )
        _require(end >= start, "InvalidParameter.EndTime", "EndTime is earlier than StartTime.")
        if max_window is not None:
            _require(
                end - start <= max_window,
                "InvalidParameter.EndTime",
                "The window is at most 24 hours.",
            )
        return start, end

    def _mdl_DescribeStreamLiveChannelLogs(self, params: dict, now: float) -> dict:
        channel = self._channel(params["ChannelId"], now)
        start, end = self._window(params, now)
        infos: dict[str, list | int] = {}
        for p, name in ((0, "Pipeline0"), (1, "Pipeline1")):
            infos[name] = [
                e for e in channel.logs[p] if start <= _parse_iso(e["Time"], "Time") <= end
            ]
        return {"Infos": infos}

    def _bitrate(self, input_id: str) -> int:
        return 5_000_000 + int(hashlib.sha256(input_id.encode()).hexdigest()[:4], 16) * 30

    def _mdl_DescribeStreamLiveChannelInputStatistics(self, params: dict, now: float) -> dict:
        channel = self._channel(params["ChannelId"], now)
        start, end = self._window(params, now)
        period = params.get("Period") or "1min"
        _require(
            period in STATS_PERIODS_S, "InvalidParameter.Period", "Period: 5s, 1min, 5min or 15min."
        )
        step = STATS_PERIODS_S[period]
        infos = []
        for attached in channel.config.get("AttachedInputs") or []:
            input_id = attached["Id"]
            stats: dict[str, list] = {"Pipeline0": [], "Pipeline1": []}
            if channel.run_since is not None:
                first = max(start, channel.run_since)
                t = math.ceil(first / step) * step
                last = min(end, now)
                rate = self._bitrate(input_id)
                while t <= last:
                    for p, name in ((0, "Pipeline0"), (1, "Pipeline1")):
                        # Traffic on the active input only: the way to tell which one is live.
                        live = self._active_at(channel, p, t) == input_id and self._present(
                            input_id, p, t
                        )
                        stats[name].append(
                            {
                                "Timestamp": int(t),
                                "NetworkIn": rate if live else 0,
                                "Video": [
                                    {
                                        "Fps": 30 if live else 0,
                                        "Rate": rate - 160000 if live else 0,
                                        "Pid": 256,
                                    }
                                ],
                                "Audio": [
                                    {
                                        "Fps": 47 if live else 0,
                                        "Rate": 128000 if live else 0,
                                        "Pid": 257,
                                    }
                                ],
                                "SessionId": f"{input_id[-6:]}-{p}" if live else "",
                                "RTT": 18 if live else 0,
                                "NetworkValid": 1 if live else 0,
                            }
                        )
                    t += step
            infos.append({"InputId": input_id, "Statistics": stats})
        return {"Infos": infos}

    def _mdl_DescribeStreamLiveInputs(self, params: dict, now: float) -> dict:
        return {"Infos": list(self._inputs.values())}

    def _mdl_DescribeStreamLiveInput(self, params: dict, now: float) -> dict:
        info = self._inputs.get(params["Id"]) if isinstance(params["Id"], str) else None
        _require(
            info is not None, "InvalidParameter.NotFound", f"Input `{params['Id']}` is not found."
        )
        return {"Info": info}

    def _mdl_QueryInputStreamState(self, params: dict, now: float) -> dict:
        info = self._inputs.get(params["Id"]) if isinstance(params["Id"], str) else None
        _require(
            info is not None, "InvalidParameter.NotFound", f"Input `{params['Id']}` is not found."
        )
        assert info is not None  # _require raised
        _require(
            info.get("Type") in ("RTMP_PUSH", "RTMPS_PUSH"),
            "InvalidParameter",
            "Currently only RTMP_PUSH and RTMPS_PUSH inputs are supported.",
        )
        running = False
        for cid in info.get("AttachedChannels") or []:
            channel = self._channel(cid, now)
            running = running or channel.state == RUNNING
        streams = []
        for p, s in enumerate((info.get("InputSettings") or [])[:2]):
            up = running and self._present(info["Id"], p, now)
            streams.append(
                {
                    "InputAddress": s.get("InputAddress", ""),
                    "AppName": s.get("AppName", ""),
                    "StreamName": s.get("StreamName", ""),
                    "Status": 1 if up else 0,
                }
            )
        # Spelled InputID, capital D, in this one structure (QueryDispatchInputInfo).
        return {
            "Info": {
                "InputID": info["Id"],
                "InputName": info.get("Name", ""),
                "Protocol": info.get("Type", ""),
                "InputStreamInfoList": streams,
            }
        }

    def _mdl_DescribeStreamLivePlans(self, params: dict, now: float) -> dict:
        self._channel(params["ChannelId"], now)
        return {"Infos": list(self._plans.get(params["ChannelId"], []))}

    def _mdl_CreateStreamLivePlan(self, params: dict, now: float) -> dict:
        channel = self._channel(params["ChannelId"], now)
        plan = params["Plan"]
        code = "InvalidParameter.Plan"
        _require(
            isinstance(plan, dict) and plan.get("EventName"), code, "Plan.EventName is required."
        )
        timing = plan.get("TimingSettings") or {}
        event = plan.get("EventSettings") or {}
        _require(
            timing.get("StartType") in ("FIXED_TIME", "IMMEDIATE", "FIXED_PTS"),
            code,
            "TimingSettings.StartType: FIXED_TIME, IMMEDIATE or FIXED_PTS.",
        )
        event_type = event.get("EventType") or "INPUT_SWITCH"
        attached = [a["Id"] for a in channel.config.get("AttachedInputs") or []]
        if event_type == "INPUT_SWITCH":
            _require(
                event.get("InputAttachment") in attached,
                code,
                "EventSettings.InputAttachment must be an attached input.",
            )
        response_event = dict(event, EventType=event_type)
        # SpliceDuration is an int in requests and a string in responses (models.py).
        if "SpliceDuration" in response_event:
            response_event["SpliceDuration"] = str(response_event["SpliceDuration"])
        self._plans.setdefault(params["ChannelId"], []).append(
            {
                "EventName": plan["EventName"],
                "TimingSettings": dict(timing),
                "EventSettings": response_event,
            }
        )
        if (
            event_type == "INPUT_SWITCH"
            and timing.get("StartType") == "IMMEDIATE"
            and channel.state == RUNNING
        ):
            target = event["InputAttachment"]
            for p in (0, 1):
                if channel.active[p] != target:
                    self._switch(channel, p, now, target)
                    channel.primary[p] = None
                    channel.loss_since[p] = None
                    self._evaluate(channel, p, now)
        return {}

    # --- StreamLink ----------------------------------------------------------------------------
    def _flow(self, flow_id: object, code: str = "InvalidParameter.Id") -> _Flow:
        flow = self._flows.get(flow_id) if isinstance(flow_id, str) else None
        if flow is None:
            raise TencentApiError(code, f"Flow `{flow_id}` is not found.")
        return flow

    @staticmethod
    def _flow_info(flow: _Flow, now: float) -> dict:
        info = {"FlowId": flow.info["FlowId"], "FlowName": flow.info.get("FlowName", "")}
        info["State"] = RUNNING if flow.running.at(now) else IDLE
        info.update(flow.info)
        return info

    def _mdc_DescribeStreamLinkFlows(self, params: dict, now: float) -> dict:
        num, size = _page(params, default_size=10, max_size=1000)
        flows = list(self._flows.values())
        chunk = flows[(num - 1) * size : num * size]
        return {
            "Infos": [self._flow_info(f, now) for f in chunk],
            "PageNum": num,
            "PageSize": size,
            "TotalNum": len(flows),
            "TotalPage": math.ceil(len(flows) / size),
        }

    def _mdc_DescribeStreamLinkFlow(self, params: dict, now: float) -> dict:
        return {"Info": self._flow_info(self._flow(params["FlowId"]), now)}

    def _flow_set(self, params: dict, now: float, running: bool) -> dict:
        flow = self._flow(params["FlowId"])
        if flow.running.at(now) == running:
            raise TencentApiError(
                "InvalidParameter.State", f"Flow is already {'RUNNING' if running else 'IDLE'}."
            )
        # Channels fed by this flow see their inputs change from now on: settle them first.
        fed = {c for iid, _p in flow.feeds for c in self._inputs[iid]["AttachedChannels"]}
        channels = [self._channels[cid] for cid in sorted(fed)]
        for channel in channels:
            self._advance(channel, now)
        flow.running.set(now, running)
        self._apply_now(channels, now)
        return {}

    def _mdc_StartStreamLinkFlow(self, params: dict, now: float) -> dict:
        return self._flow_set(params, now, True)

    def _mdc_StopStreamLinkFlow(self, params: dict, now: float) -> dict:
        return self._flow_set(params, now, False)

    def _flow_connected(self, flow: _Flow, t: float) -> bool:
        return flow.running.at(t) and self._flow_input_present(flow, t)

    def _mdc_DescribeStreamLinkFlowRealtimeStatus(self, params: dict, now: float) -> dict:
        flow = self._flow(params["FlowId"], "InvalidParameter.NotFound")
        input_ids = params.get("InputIds") or []
        output_ids = params.get("OutputIds") or []
        running = flow.running.at(now)
        datas = []

        def status(up: bool, since: float, mode: str) -> dict:
            state = "Connected" if up else ("Waiting" if running else "Idle")
            return {
                "State": state,
                "Mode": mode,
                "ConnectedTime": int((now - since) * 1000) if up else 0,
                "Bitrate": 6_200_000 if up else 0,
                "Reconnections": 0,
            }

        changes = flow.running.times
        since = changes[-1] if changes else now
        for g in flow.info.get("InputGroup") or []:
            if input_ids and g["InputId"] not in input_ids:
                continue
            up = running and (
                self._signal(g["InputId"], 0).at(now) or self._signal(g["InputId"], 1).at(now)
            )
            datas.append(self._status_item("Input", g, flow, status(up, since, "Listener")))
        connected = self._flow_connected(flow, now)
        for o in flow.info.get("OutputGroup") or []:
            if output_ids and o["OutputId"] not in output_ids:
                continue
            datas.append(self._status_item("Output", o, flow, status(connected, since, "Caller")))
        return {"Timestamp": int(now), "Datas": datas}

    @staticmethod
    def _status_item(kind: str, io: dict, flow: _Flow, common: dict) -> dict:
        protocol = io.get("Protocol", "")
        up = common["State"] == "Connected"
        item = {
            "Type": kind,
            "InputId": io.get("InputId", "") if kind == "Input" else "",
            "OutputId": io.get("OutputId", "") if kind == "Output" else "",
            "FlowId": flow.info["FlowId"],
            "Protocol": protocol,
            "CommonStatus": common,
            "ConnectServerIP": "10.0.0.12" if up else "",
            # RTMPStatus/SRTStatus/RTPStatus are objects in models.py (api.json shows a list).
            "RTMPStatus": {"VideoFPS": 30 if up else 0, "AudioFPS": 47 if up else 0}
            if protocol.startswith("RTMP")
            else None,
            "SRTStatus": {
                "Latency": 1000,
                "RTT": 24 if up else 0,
                "Packets": 120000 if up else 0,
                "PacketLossRate": 0.0,
                "RetransmitRate": 0.001 if up else 0.0,
                "DroppedPackets": 0,
                "Encryption": "Off",
            }
            if protocol == "SRT"
            else None,
            "RTPStatus": {"Packets": 120000 if up else 0} if protocol == "RTP" else None,
        }
        return item

    def _mdc_DescribeStreamLinkFlowLogs(self, params: dict, now: float) -> dict:
        flow = self._flow(params["FlowId"], "InvalidParameter.NotFound")
        start, end = self._window(params, now, max_window=MDC_MAX_WINDOW_S)
        kinds = params["Type"]
        _require(
            isinstance(kinds, list) and all(str(k).lower() in ("input", "output") for k in kinds),
            "InvalidParameter.Type",
            "Type: input and/or output.",
        )
        kinds = {
            str(k).lower() for k in kinds
        }  # the docs' example sends "Input" (case UNCONFIRMED)
        pipelines = params["Pipeline"]
        _require(
            isinstance(pipelines, list) and all(p in ("0", "1") for p in pipelines),
            "InvalidParameter.Pipeline",
            'Pipeline: "0" and/or "1".',
        )
        sort = params.get("SortType") or "desc"
        _require(sort in ("desc", "asc"), "InvalidParameter.SortType", "SortType: desc or asc.")
        num, size = _page(params, default_size=100, max_size=1000)
        sources = [flow.running]
        for g in flow.info.get("InputGroup") or []:
            sources += [self._signal(g["InputId"], 0), self._signal(g["InputId"], 1)]
        times = sorted({t for s in sources for t in s.changes(start - 1e-9, min(end, now))})
        entries = []
        for t in times:
            before, after = t - 1e-6, t
            for g in flow.info.get("InputGroup") or []:
                pipes = ("0", "1") if g.get("FailOver") == "OPEN" else ("0",)
                was = flow.running.at(before) and (
                    self._signal(g["InputId"], 0).at(before)
                    or self._signal(g["InputId"], 1).at(before)
                )
                up = flow.running.at(after) and (
                    self._signal(g["InputId"], 0).at(after)
                    or self._signal(g["InputId"], 1).at(after)
                )
                if was != up and "input" in kinds:
                    entries += self._flow_logs(
                        t, "input", g, "InputId", "InputName", up, pipes, pipelines
                    )
            was, up = self._flow_connected(flow, before), self._flow_connected(flow, after)
            if was != up and "output" in kinds:
                for o in flow.info.get("OutputGroup") or []:
                    entries += self._flow_logs(
                        t, "output", o, "OutputId", "OutputName", up, ("0",), pipelines
                    )
        entries.sort(key=lambda e: e["Timestamp"], reverse=sort == "desc")
        return {
            "Infos": entries[(num - 1) * size : num * size],
            "PageNum": num,
            "PageSize": size,
            "TotalNum": len(entries),
            "TotalPage": math.ceil(len(entries) / size),
        }

    @staticmethod
    def _flow_logs(
        t: float,
        kind: str,
        io: dict,
        id_key: str,
        name_key: str,
        up: bool,
        pipes: Collection[str],
        wanted: Collection[str],
    ) -> list[dict]:
        code, message = FLOW_EVENT_CONNECTED if up else FLOW_EVENT_DISCONNECTED
        return [
            {
                "Timestamp": int(t),
                "Type": kind,
                "InputOutputId": io.get(id_key, ""),
                "InputOutputName": io.get(name_key, ""),
                "Protocol": io.get("Protocol", ""),
                "EventCode": code,
                "EventMessage": message,
                "RemoteIp": "198.51.100.20",
                "RemotePort": "1935",
                "Pipeline": pipe,  # a string in StreamLink (models.py)
            }
            for pipe in pipes
            if pipe in wanted
        ]

    # --- StreamPackage -------------------------------------------------------------------------
    def _mdp_DescribeStreamPackageChannels(self, params: dict, now: float) -> dict:
        num, size = _page(params, default_size=10, max_size=1000)
        return {
            "Infos": self._package[(num - 1) * size : num * size],
            "PageNum": num,
            "PageSize": size,
            "TotalNum": len(self._package),
            "TotalPage": math.ceil(len(self._package) / size),
        }

    def _mdp_DescribeStreamPackageChannel(self, params: dict, now: float) -> dict:
        info = self._package_by_id.get(params["Id"]) if isinstance(params["Id"], str) else None
        _require(
            info is not None, "InvalidParameter.NotFound", f"Channel `{params['Id']}` is not found."
        )
        return {"Info": info}

    # --- CSS -----------------------------------------------------------------------------------
    def _stream_key(self, params: dict) -> tuple[str, str, str]:
        for name in ("DomainName", "AppName", "StreamName"):
            _require(
                isinstance(params.get(name), str), "InvalidParameter", f"{name} must be a string."
            )
        if params["DomainName"] not in self._domains:
            raise TencentApiError("ResourceNotFound.DomainNotExist", "The domain does not exist.")
        return params["DomainName"], params["AppName"], params["StreamName"]

    def _live_DescribeLiveStreamOnlineList(self, params: dict, now: float) -> dict:
        num = params.get("PageNum", 1)
        size = params.get("PageSize", 10)
        _require(
            isinstance(num, int) and num >= 1, "InvalidParameterValue", "PageNum must be >= 1."
        )
        _require(
            isinstance(size, int) and 10 <= size <= 100,
            "InvalidParameterValue",
            "PageSize: 10-100.",
        )
        app = params.get("AppName") or None
        online = [
            {
                "StreamName": key[2],
                "AppName": key[1],
                "DomainName": key[0],
                "PublishTimeList": [{"PublishTime": s["PublishTime"]}],
            }
            for key, s in sorted(self._streams.items())
            if s["State"] == "active"
            and params.get("DomainName") in (None, "", key[0])
            and app in (None, key[1])
            and params.get("StreamName") in (None, "", key[2])
        ]
        return {
            "TotalNum": len(online),
            "TotalPage": math.ceil(len(online) / size),
            "PageNum": num,
            "PageSize": size,
            "OnlineInfo": online[(num - 1) * size : num * size],
        }

    def _live_DescribeLiveStreamState(self, params: dict, now: float) -> dict:
        stream = self._streams.get(self._stream_key(params))
        return {"StreamState": stream["State"] if stream else "inactive"}

    def _live_DropLiveStream(self, params: dict, now: float) -> dict:
        key = self._stream_key(params)
        stream = self._streams.get(key)
        # "Pausing an inactive stream is considered successful" (DropLiveStream docs).
        if stream and stream["State"] == "active":
            self._streams[key] = {**stream, "State": "inactive"}
        return {}

    def _live_ForbidLiveStream(self, params: dict, now: float) -> dict:
        key = self._stream_key(params)
        stream = self._streams.get(key) or {"PublishTime": iso(now)}
        self._streams[key] = {**stream, "State": "forbid"}
        return {}

    def _live_ResumeLiveStream(self, params: dict, now: float) -> dict:
        key = self._stream_key(params)
        stream = self._streams.get(key)
        if stream and stream["State"] == "forbid":
            # Resume lifts the block; the encoder has to push again (/_sim/css_push).
            self._streams[key] = {**stream, "State": "inactive"}
        return {}

    # --- control API -----------------------------------------------------------------------------
    def control(self, verb: str, body: dict) -> dict:
        handler = getattr(self, f"_control_{verb}", None)
        if handler is None:
            raise ValueError(f"unknown control verb {verb!r}")
        with self._lock:
            return handler(body, self.now())

    def _affected(self, input_id: str) -> list[_Channel]:
        """The channels an input (or a StreamLink input feeding one) can affect."""
        flow = self._flow_inputs.get(input_id)
        targets = [iid for iid, _p in flow.feeds] if flow else [input_id]
        return [
            self._channels[cid]
            for iid in targets
            for cid in (self._inputs.get(iid) or {}).get("AttachedChannels") or []
        ]

    def _settle_input(self, input_id: str, now: float) -> None:
        for channel in self._affected(input_id):
            self._advance(channel, now)

    def _apply_now(self, channels: list[_Channel], now: float) -> None:
        """Evaluate a change made at ``now``: the channels were already settled up to it."""
        for channel in channels:
            if channel.state == RUNNING:
                for p in (0, 1):
                    self._evaluate(channel, p, now)

    def _control_signal(self, body: dict, now: float) -> dict:
        input_id = body["input_id"]
        if input_id not in self._inputs and input_id not in self._flow_inputs:
            raise ValueError(f"no StreamLive or StreamLink input {input_id!r}")
        pipeline = body.get("pipeline")
        if pipeline not in (0, 1, None):
            raise ValueError("pipeline is 0, 1 or null (both)")
        self._settle_input(input_id, now)
        before = self._push_states(input_id, now)
        for p in (0, 1) if pipeline is None else (pipeline,):
            self._signal(input_id, p).set(now, bool(body["present"]))
        # An explicit signal ends flapping for that input.
        self._flaps.pop(input_id, None)
        self._apply_now(self._affected(input_id), now)
        self._push_callbacks(before, self._push_states(input_id, now), now)
        return {"ok": True, "time": iso(now)}

    def _push_states(self, input_id: str, now: float) -> dict[tuple[str, str, int], bool]:
        """(channel, StreamLive input, pipeline) -> stream present, for the RTMP inputs of
        running channels with callbacks that a signal of ``input_id`` can change."""
        flow = self._flow_inputs.get(input_id)
        targets = {iid for iid, _p in flow.feeds} if flow else {input_id}
        states = {}
        for channel in self._affected(input_id):
            push = (channel.config.get("EventNotifySettings") or {}).get("PushEventSettings")
            if channel.state != RUNNING or not (push or {}).get("NotifyUrl"):
                continue
            for iid in targets:
                if self._input_type(iid) not in ("RTMP_PUSH", "RTMPS_PUSH"):
                    continue  # the callbacks exist for RTMP inputs only (DOC 1048/73133)
                for p in (0, 1):
                    states[(channel.config["Id"], iid, p)] = self._present(iid, p, now)
        return states

    def _push_callbacks(
        self,
        before: dict[tuple[str, str, int], bool],
        after: dict[tuple[str, str, int], bool],
        now: float,
    ) -> None:
        for (channel_id, input_id, p), present in sorted(after.items()):
            if before.get((channel_id, input_id, p), present) == present:
                continue
            config = self._channels[channel_id].config
            push = (config.get("EventNotifySettings") or {}).get("PushEventSettings") or {}
            body = callback_body(
                channel_id=channel_id,
                input_id=input_id,
                pipeline=p,
                event_type=329 if present else 330,
                key=push.get("NotifyKey") or "",
                now=now,
            )
            self.callbacks.enqueue(push["NotifyUrl"], body, now)

    def _control_callbacks(self, body: dict, now: float) -> dict:
        return self.callbacks.configure(mode=body.get("mode"), delay_s=body.get("delay_s"))

    def _control_flapping(self, body: dict, now: float) -> dict:
        input_id = body["input_id"]
        if input_id not in self._inputs:
            raise ValueError(f"no StreamLive input {input_id!r}")
        self._settle_input(input_id, now)
        if body.get("period_s"):
            self._flaps[input_id] = _Flap(now, float(body["period_s"]))
        else:
            self._flaps.pop(input_id, None)
        self._apply_now(self._affected(input_id), now)
        return {"ok": True}

    def _control_clock(self, body: dict, now: float) -> dict:
        advance = float(body["advance_s"])
        if advance < 0:
            raise ValueError("the clock only moves forward")
        self._offset += advance
        self.callbacks.clock_moved()
        return {"ok": True, "now": iso(self.now())}

    def _control_css_push(self, body: dict, now: float) -> dict:
        matches = [
            k
            for k in self._streams
            if k[2] == body["StreamName"]
            and body.get("AppName", k[1]) == k[1]
            and body.get("DomainName", k[0]) == k[0]
        ]
        if not matches:
            raise ValueError(f"no CSS stream {body['StreamName']!r}")
        for key in matches:
            if self._streams[key]["State"] != "forbid":
                self._streams[key] = {"State": "active", "PublishTime": iso(now)}
        return {"ok": True}

    def _control_deny(self, body: dict, now: float) -> dict:
        self._denied = set(body.get("actions") or [])
        return {"ok": True, "denied": sorted(self._denied)}

    def _control_inspect(self, body: dict, now: float) -> dict:
        channels = {}
        for cid, channel in self._channels.items():
            self._advance(channel, now)
            channels[cid] = {
                "Name": channel.config.get("Name", ""),
                "State": channel.state,
                "ActiveInputs": list(channel.active),
            }
        flows = {fid: RUNNING if f.running.at(now) else IDLE for fid, f in self._flows.items()}
        return {"now": iso(now), "channels": channels, "flows": flows}
