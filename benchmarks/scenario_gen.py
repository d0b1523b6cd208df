"""A large, realistic Tencent simulator scenario for the inventory benchmarks.

``scenario_generate(channels=200, on_air=50, flows=400)`` returns a scenario in the format of
``broadcastops/cloud/simulator/tencent.py`` (every object as the APIs return it), shaped like
``scenarios/demo.json``'s correctly paired channel ``channel-kbo-001``:

- StreamLive: ``channels`` channels named ``bench-ch-NNN``; ``on_air`` of them RUNNING, spread
  evenly through the list (the order the poller meets them in). Each has two RTMP_PUSH inputs,
  MAIN then BACKUP, two pipelines each (InputAddress, AppName, StreamName, AttachedChannels);
  MAIN carries ``FailOverSettings`` to BACKUP with LossThreshold 3000 ms, and BACKUP the empty
  object the console writes. Two output groups: HLS to the channel's StreamPackage channel and
  RTMP to the channel's CSS stream.
- StreamLink: a MAIN (``chNNN_m``) and a BACKUP (``chNNN_b``) flow per channel whose RTMP outputs
  push to the matching input's two pipelines (Url + StreamKey = InputAddress/AppName/StreamName),
  RUNNING for on-air channels. Past ``2 * channels``, spare IDLE flows push to CSS.
- StreamPackage: one HLS channel per StreamLive channel, its input URLs the HLS destinations.
- CSS: one stream per channel on one push domain, active while its channel is on air.
"""

CSS_DOMAIN = "push.bench-ops.kr"
REGION = "ap-seoul"


def _id(kind: int, index: int) -> str:
    """A 20-hex-digit id like the real ones, unique per resource kind and index."""
    return f"6B{kind:02X}{index:016X}"


def on_air_indexes(channels: int, on_air: int) -> list[int]:
    """Which channel indexes are RUNNING: ``on_air`` of them, evenly spread."""
    on_air = max(0, min(on_air, channels))
    return sorted({k * channels // on_air for k in range(on_air)}) if on_air else []


def channel_name(index: int) -> str:
    return f"bench-ch-{index:03d}"


def _input(index: int, role: str, host: str, channel_id: str) -> dict:
    suffix = "m" if role == "main" else "b"
    return {
        "Region": REGION,
        "Id": _id(2 if role == "main" else 3, index),
        "Name": f"{channel_name(index)}-{role}",
        "Type": "RTMP_PUSH",
        "SecurityGroupIds": [],
        "AttachedChannels": [channel_id],
        "InputSettings": [
            {
                "AppName": "live",
                "StreamName": f"ch{index:03d}{suffix}",
                "SourceUrl": "",
                "InputAddress": f"rtmp://{host}.{REGION}-{p + 1}.streamlive.myqcloud.com",
                "SourceType": "",
                "DelayTime": 0,
                "InputDomain": "",
                "UserName": "",
                "Password": "",
                "ContentType": "",
            }
            for p in (0, 1)
        ],
    }


def _attached(input_id: str, failover: dict) -> dict:
    return {
        "Id": input_id,
        "AudioSelectors": [],
        "PullBehavior": "",
        "FailOverSettings": failover,
        "CaptionSelectors": [],
    }


def _package(index: int) -> dict:
    package_id = _id(6, index)
    base = f"streampackage.{REGION}-{{}}.srclivepush.myqcloud.com/v1/{package_id.lower()}"
    return {
        "Id": package_id,
        "Name": f"pkg-ch-{index:03d}",
        "Protocol": "HLS",
        "Points": {
            "Inputs": [
                {
                    "Url": f"http://{base.format(p + 1)}/{index:08x}{p:08x}",
                    "AuthInfo": {"Username": f"user{p + 1}", "Password": f"{index:016x}"},
                }
                for p in (0, 1)
            ],
            "Endpoints": [
                {
                    "Name": "hls",
                    "Url": f"https://{index:08x}.{REGION}.streampackage.myqcloud.com/v1/"
                    f"{package_id.lower()}/hls/index.m3u8",
                    "AuthInfo": {"WhiteIpList": [], "BlackIpList": [], "AuthKey": ""},
                    "Protocol": "HLS",
                    "Manifest": "main",
                    "TimeShiftEnable": False,
                    "TimeShiftDuration": 0,
                }
            ],
        },
        "CacheInfo": {
            "Info": [{"Timeout": 2000, "Ext": ".m3u8"}, {"Timeout": 86400000, "Ext": ".ts"}]
        },
    }


def _channel(index: int, running: bool, main: dict, backup: dict, package: dict) -> dict:
    output = {
        "Name": "out_1080p",
        "AudioTemplateNames": ["audio_aac"],
        "VideoTemplateNames": ["video_1080p"],
        "AVTemplateNames": [],
        "CaptionTemplateNames": [],
        "NameModifier": "_1080p",
    }
    destination = {"AuthKey": "", "Username": "", "Password": "", "DestinationType": "Standard"}
    return {
        "Id": _id(1, index),
        "State": "RUNNING" if running else "IDLE",
        "Name": channel_name(index),
        "AttachedInputs": [
            _attached(
                main["Id"],
                {
                    "SecondaryInputId": backup["Id"],
                    "LossThreshold": 3000,
                    "RecoverBehavior": "CURRENT_PREFERRED",
                },
            ),
            # The empty object the console writes on the BACKUP (as in demo.json).
            _attached(
                backup["Id"], {"SecondaryInputId": "", "LossThreshold": 0, "RecoverBehavior": ""}
            ),
        ],
        "OutputGroups": [
            {
                "Name": "hls_streampackage",
                "Type": "HLS_STREAM_PACKAGE",
                "Outputs": [output],
                "Destinations": [
                    {"OutputUrl": point["Url"], **destination}
                    for point in package["Points"]["Inputs"]
                ],
                "HlsRemuxSettings": {"SegmentDuration": 4000, "SegmentNumber": 5},
                "StreamPackageSettings": {"Id": package["Id"]},
            },
            {
                "Name": "css_rtmp",
                "Type": "RTMP",
                "Outputs": [{**output, "Name": "out_rtmp", "NameModifier": ""}],
                "Destinations": [
                    {"OutputUrl": f"rtmp://{CSS_DOMAIN}/live/ch{index:03d}", **destination}
                ],
            },
        ],
        "AudioTemplates": [
            {"Name": "audio_aac", "Acodec": "AAC", "AudioBitrate": 128000, "AudioSampleRate": 48000}
        ],
        "VideoTemplates": [
            {
                "Name": "video_1080p",
                "Vcodec": "H264",
                "VideoBitrate": 6000000,
                "Width": 1920,
                "Height": 1080,
                "Fps": 30,
                "RateControlMode": "CBR",
            }
        ],
        "AVTemplates": [],
        "CaptionTemplates": [],
        "PlanSettings": {"TimedRecordSettings": {"AutoClear": "CLOSE"}},
        "EventNotifySettings": {"PushEventSettings": {"NotifyUrl": "", "NotifyKey": ""}},
        "InputLossBehavior": {"RepeatLastFrameMs": 1000, "InputLossImageType": "COLOR"},
        "PipelineInputSettings": {"FaultBehavior": "PIPELINE_FAILOVER"},
        "Tags": [{"TagKey": "bench", "TagValue": "inventory", "Category": ""}],
    }


def _flow(flow_id: str, name: str, running: bool, index: int, destinations: list[dict]) -> dict:
    return {
        "FlowId": flow_id,
        "FlowName": name,
        "State": "RUNNING" if running else "IDLE",
        "MaxBandwidth": 20000000,
        "InputGroup": [
            {
                "InputId": _id(4, index),
                "InputName": f"{name}_in",
                "Description": "encoder feed",
                "Protocol": "RTMP",
                "InputAddressList": [{"Ip": "43.155.137.174", "Port": 1935}],
                "AllowIpList": ["0.0.0.0/0"],
                "InputRegion": REGION,
                "RTMPSettings": {"AppName": "live", "StreamKey": f"{name}enc"},
                "FailOver": "CLOSE",
                "SecurityGroupIds": [],
            }
        ],
        "OutputGroup": [
            {
                "OutputId": _id(5, index),
                "OutputName": f"{name}_out",
                "OutputType": "Internet",
                "Description": "",
                "Protocol": "RTMP",
                "OutputAddressList": [{"Ip": "43.155.56.191"}],
                "OutputRegion": REGION,
                "RTMPSettings": {
                    "Destinations": destinations,
                    "ChunkSize": 4096,
                    "IdleTimeout": 5000,
                },
                "AllowIpList": [],
                "MaxConcurrent": 0,
                "SecurityGroupIds": [],
                "Zones": [],
                "State": "ENABLED",
            }
        ],
        "EventId": "",
        "CreateTime": "2025-11-03T02:14:09Z",
        "AllowedInputProtocols": ["SRT", "RTP", "RTMP"],
        "AllowedOutputProtocols": ["SRT", "RTP", "RTMP"],
    }


def _push_destinations(live_input: dict) -> list[dict]:
    """A StreamLink RTMP output feeding both pipelines of a StreamLive input."""
    return [
        {"Url": f"{s['InputAddress']}/{s['AppName']}", "StreamKey": s["StreamName"]}
        for s in live_input["InputSettings"]
    ]


def scenario_generate(*, channels: int = 200, on_air: int = 50, flows: int = 400) -> dict:
    """The scenario described in the module docstring."""
    running = set(on_air_indexes(channels, on_air))
    live_channels, inputs, link_flows, packages, streams = [], [], [], [], []
    for index in range(channels):
        channel_id = _id(1, index)
        host = f"{index * 7919 % 0xFFFFFF:06x}"  # a per-channel ingest host, like c6f208
        main = _input(index, "main", host, channel_id)
        backup = _input(index, "backup", host, channel_id)
        package = _package(index)
        inputs += [main, backup]
        packages.append(package)
        live_channels.append(_channel(index, index in running, main, backup, package))
        streams.append(
            {
                "StreamName": f"ch{index:03d}",
                "AppName": "live",
                "DomainName": CSS_DOMAIN,
                "State": "active" if index in running else "inactive",
            }
        )
        for n, (role, live_input) in enumerate((("m", main), ("b", backup))):
            flow_index = 2 * index + n
            if flow_index < flows:
                link_flows.append(
                    _flow(
                        _id(7, flow_index),
                        f"ch{index:03d}_{role}",
                        index in running,
                        flow_index,
                        _push_destinations(live_input),
                    )
                )
    for flow_index in range(2 * channels, flows):
        spare = [{"Url": f"rtmp://{CSS_DOMAIN}/live", "StreamKey": f"spare{flow_index:04d}"}]
        link_flows.append(
            _flow(_id(7, flow_index), f"spare{flow_index:04d}", False, flow_index, spare)
        )
    return {
        "_comment": (
            f"Generated by benchmarks/scenario_gen.py: {channels} channels ({len(running)} on "
            f"air), {len(link_flows)} flows."
        ),
        "mdl": {"channels": live_channels, "inputs": inputs},
        "mdc": {"flows": link_flows},
        "mdp": {"channels": packages},
        "live": {"streams": streams},
    }


if __name__ == "__main__":
    import json
    import sys

    json.dump(scenario_generate(), sys.stdout, indent=1)
