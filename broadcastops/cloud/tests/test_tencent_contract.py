"""Every simulator answer deserialises into the installed SDK's models with no unknown member.

The SDK warns "<names> fileds are useless" for members its models lack and raises on a
list/object mismatch; either would mean the simulator drifted from the real API's shapes.
"""

from datetime import UTC, datetime, timedelta

import pytest
from tencentcloud.live.v20180801 import models as live_models
from tencentcloud.mdc.v20200828 import models as mdc_models
from tencentcloud.mdl.v20200326 import models as mdl_models
from tencentcloud.mdp.v20200527 import models as mdp_models

from broadcastops.cloud.tests.tencent_support import (
    demo_scenario,
    deserialize_strictly,
    gateway_for,
    raw_call,
)

MODELS = {"mdl": mdl_models, "mdc": mdc_models, "mdp": mdp_models, "live": live_models}


@pytest.fixture
def busy_demo(cloudsim):
    """The demo after a failover, a recovery, a stopped flow and a dropped stream."""
    cloudsim.load(demo_scenario())
    gateway = gateway_for(cloudsim)
    channels = {c.name: c for c in gateway.live_channel_list()}
    cloudsim.control("clock", {"advance_s": 130})  # channel-sports-002 flaps over to its backup
    news = channels["channel-news-001"]
    cloudsim.control("signal", {"input_id": news.input_ids[0], "pipeline": 0, "present": False})
    cloudsim.control("clock", {"advance_s": 5})
    cloudsim.control("signal", {"input_id": news.input_ids[0], "pipeline": 0, "present": True})
    flow = next(f for f in gateway.link_flow_list() if f.state == "RUNNING")
    gateway.link_flow_stop(flow_id=flow.id)
    gateway.css_stream_drop(domain_name="push.ottdemo.kr", stream_name="kbo001")
    return gateway, channels, flow


def test_every_action_matches_the_sdk_models(busy_demo):
    gateway, channels, flow = busy_demo
    sports = channels["channel-sports-002"]
    now = datetime.now(UTC)
    window = {
        "StartTime": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "EndTime": (now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    package_id = gateway.package_channel_list()[0].id
    calls = [
        ("mdl", "DescribeStreamLiveChannels", {}),
        ("mdl", "DescribeStreamLiveChannel", {"Id": sports.id}),
        ("mdl", "DescribeStreamLiveInputs", {}),
        ("mdl", "DescribeStreamLiveInput", {"Id": sports.input_ids[0]}),
        ("mdl", "DescribeStreamLiveChannelAlerts", {"ChannelId": channels["channel-news-001"].id}),
        ("mdl", "DescribeStreamLiveChannelLogs", {"ChannelId": sports.id}),
        (
            "mdl",
            "DescribeStreamLiveChannelInputStatistics",
            {"ChannelId": sports.id, "Period": "5s"},
        ),
        ("mdl", "QueryInputStreamState", {"Id": sports.input_ids[0]}),
        ("mdl", "DescribeStreamLivePlans", {"ChannelId": sports.id}),
        ("mdc", "DescribeStreamLinkFlows", {"PageSize": 100}),
        ("mdc", "DescribeStreamLinkFlow", {"FlowId": flow.id}),
        ("mdc", "DescribeStreamLinkFlowRealtimeStatus", {"FlowId": flow.id}),
        (
            "mdc",
            "DescribeStreamLinkFlowLogs",
            {
                "FlowId": flow.id,
                **window,
                "Type": ["input", "output"],
                "Pipeline": ["0", "1"],
                "PageSize": 100,
            },
        ),
        ("mdp", "DescribeStreamPackageChannels", {"PageSize": 100}),
        ("mdp", "DescribeStreamPackageChannel", {"Id": package_id}),
        ("live", "DescribeLiveStreamOnlineList", {"PageSize": 100}),
        (
            "live",
            "DescribeLiveStreamState",
            {"DomainName": "push.ottdemo.kr", "AppName": "live", "StreamName": "kbo001"},
        ),
    ]
    for service, action, params in calls:
        response = raw_call(gateway, service, action, params)
        assert deserialize_strictly(MODELS[service], action, response) == [], action


def test_the_busy_demo_has_content_to_check(busy_demo):
    """Guards the contract test above against passing on empty answers."""
    gateway, channels, flow = busy_demo
    sports = channels["channel-sports-002"]
    assert {e.type for e in gateway.live_channel_log_list(channel_id=sports.id)} >= {
        "StreamStart",
        "PipelineFailover",
    }
    alerts = gateway.live_channel_alert_list(channel_id=channels["channel-news-001"].id)
    assert alerts and alerts[0].clear_time is not None
    assert gateway.link_flow_log_list(flow_id=flow.id).total_num >= 2


def test_the_checker_flags_an_unknown_member():
    top = {"Infos": [], "RequestId": "r", "Surprise": 1}
    assert deserialize_strictly(mdl_models, "DescribeStreamLiveChannels", top) != []
    nested = {"Infos": [{"Id": "x", "Surprise": 1}], "RequestId": "r"}
    assert deserialize_strictly(mdl_models, "DescribeStreamLiveChannels", nested) != []
    with pytest.raises((AttributeError, TypeError)):
        deserialize_strictly(mdl_models, "DescribeStreamLiveChannelAlerts", {"Infos": [{"x": 1}]})


def test_the_sdk_typed_clients_parse_the_demo(busy_demo):
    gateway, channels, _flow = busy_demo
    client = gateway._client("mdl")
    response = client.DescribeStreamLiveChannels(mdl_models.DescribeStreamLiveChannelsRequest())
    assert {info.Name for info in response.Infos} == set(channels)
    request = mdl_models.DescribeStreamLiveChannelAlertsRequest()
    request.ChannelId = channels["channel-news-001"].id
    alerts = client.DescribeStreamLiveChannelAlerts(request)
    assert alerts.Infos.Pipeline0[0].Type == "RTMP Stream Not Found"
