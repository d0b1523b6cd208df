"""Scenario builders and SDK helpers for the Tencent gateway and simulator tests.

Objects are built in the APIs' own shapes (what a captured response looks like), small enough
to read in a test.
"""

import json
import warnings
from pathlib import Path

from broadcastops.cloud.simulator.server import DEMO_SCENARIO, SIM_SECRET_ID, SIM_SECRET_KEY
from broadcastops.cloud.tencent import TencentGateway

EMPTY_FAILOVER = {"SecondaryInputId": "", "LossThreshold": 0, "RecoverBehavior": ""}


def demo_scenario() -> dict:
    return json.loads(Path(DEMO_SCENARIO).read_text(encoding="utf-8"))


def rtmp_input(input_id: str, key: str, *, input_type: str = "RTMP_PUSH") -> dict:
    return {
        "Region": "ap-seoul",
        "Id": input_id,
        "Name": f"{key}-input",
        "Type": input_type,
        "SecurityGroupIds": [],
        "AttachedChannels": [],
        "InputSettings": [
            {
                "AppName": "live",
                "StreamName": key,
                "InputAddress": f"rtmp://abc123.ap-seoul-{p + 1}.streamlive.myqcloud.com",
            }
            for p in (0, 1)
        ],
    }


def attached(input_id: str, failover: dict | None = None) -> dict:
    item = {"Id": input_id, "AudioSelectors": [], "PullBehavior": "", "CaptionSelectors": []}
    if failover is not None:
        item["FailOverSettings"] = failover
    return item


def live_channel(
    channel_id: str, name: str, attached_inputs: list[dict], *, state: str = "IDLE"
) -> dict:
    return {
        "Id": channel_id,
        "State": state,
        "AttachedInputs": attached_inputs,
        "OutputGroups": [
            {
                "Name": "hls",
                "Type": "HLS_STREAM_PACKAGE",
                "Outputs": [
                    {"Name": "o1", "AudioTemplateNames": ["a"], "VideoTemplateNames": ["v"]}
                ],
                "Destinations": [
                    {"OutputUrl": "http://streampackage.ap-seoul-1.srclivepush.myqcloud.com/v1/x/1"}
                ],
                "StreamPackageSettings": {"Id": "PKG0000000000000001"},
            }
        ],
        "Name": name,
        "AudioTemplates": [{"Name": "a", "Acodec": "AAC", "AudioBitrate": 128000}],
        "VideoTemplates": [{"Name": "v", "Vcodec": "H264", "VideoBitrate": 6000000}],
        "AVTemplates": None,
        "PlanSettings": {"TimedRecordSettings": {"AutoClear": "CLOSE"}},
        "EventNotifySettings": {"PushEventSettings": {"NotifyUrl": "", "NotifyKey": "k-secret"}},
        "InputLossBehavior": {"RepeatLastFrameMs": 1000, "InputLossImageType": "COLOR"},
        "PipelineInputSettings": {"FaultBehavior": "PIPELINE_FAILOVER"},
        "Tags": [{"TagKey": "category", "TagValue": "sports", "Category": ""}],
    }


PRIMARY, SECONDARY, SPARE = "6A000000000000000001", "6A000000000000000002", "6A000000000000000003"
CHANNEL = "6B000000000000000001"


def failover_scenario(
    failover: dict | None, *, state: str = "RUNNING", extra_inputs: int = 0
) -> dict:
    """One channel, a primary carrying ``failover`` and a secondary (plus spares)."""
    ids = [PRIMARY, SECONDARY, SPARE][: 2 + extra_inputs]
    inputs = [rtmp_input(i, f"s{n}") for n, i in enumerate(ids)]
    items = [attached(PRIMARY, failover)] + [attached(i, EMPTY_FAILOVER) for i in ids[1:]]
    return {
        "mdl": {
            "channels": [live_channel(CHANNEL, "ch-failover", items, state=state)],
            "inputs": inputs,
        }
    }


def gateway_for(cloudsim, **overrides) -> TencentGateway:
    """A gateway at the simulator with explicit knobs (no shared limiter unless given)."""
    options = {
        "secret_id": SIM_SECRET_ID,
        "secret_key": SIM_SECRET_KEY,
        "region": "ap-seoul",
        "endpoint": cloudsim.url,
        "timeout_s": 5.0,
        "max_retries": 0,
        "rate_fraction": 0,
    }
    options.update(overrides)
    return TencentGateway(**options)


def raw_call(
    gateway: TencentGateway, service: str, action: str, params: dict | None = None
) -> dict:
    """The decoded ``Response`` of one action, straight from the SDK client (no mapping)."""
    return gateway._client(service).call_json(action, params or {})["Response"]


def deserialize_strictly(models, action: str, response: dict) -> list[str]:
    """Deserialise ``response`` into the SDK's ``<Action>Response``; return the SDK's warnings.

    The SDK warns "<names> fileds are useless" for members its models do not know, and raises on
    a list/object mismatch; both mean the simulator's shape differs from the real API's.
    """
    model = getattr(models, f"{action}Response")()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model._deserialize(response)
    messages = [str(w.message) for w in caught]
    # Response classes themselves do not warn (only nested models do): check their members.
    known = {name[1:] for name in vars(model)}
    unknown = sorted(set(response) - known)
    if unknown:
        messages.append(f"{','.join(unknown)} fileds are useless.")
    return messages
