"""The Tencent gateway: settings, error mapping, retries, read-modify-write, fan-out."""

import copy
import socket
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

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
from broadcastops.cloud.tencent import (
    _strip_none,
    map_parallel,
    map_parallel_completed,
    map_sdk_error,
    parse_endpoint,
    tencent_gateway,
)
from broadcastops.cloud.tests.tencent_support import (
    CHANNEL,
    EMPTY_FAILOVER,
    PRIMARY,
    attached,
    demo_scenario,
    failover_scenario,
    gateway_for,
    live_channel,
    raw_call,
    rtmp_input,
)
from broadcastops.cloud.types import FailOverSettings


# --- settings -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:9100", ("127.0.0.1:9100", "http")),
        ("127.0.0.1:9100", ("127.0.0.1:9100", "http")),
        ("localhost:9100", ("localhost:9100", "http")),
        ("http://[::1]:9100/", ("[::1]:9100", "http")),
        ("https://mdl.tencentcloudapi.com", ("mdl.tencentcloudapi.com", "https")),
        ("gateway.example.com:8443", ("gateway.example.com:8443", "https")),
        ("", (None, "https")),
    ],
)
def test_endpoint_is_split_into_host_port_and_protocol(value, expected):
    assert parse_endpoint(value) == expected


@pytest.mark.parametrize(
    "value", ["http://api.example.com", "http://127.0.0.1:9100/v1", "ftp://127.0.0.1:21"]
)
def test_endpoint_refuses_plain_http_off_loopback_and_paths(value):
    with pytest.raises(ImproperlyConfigured):
        parse_endpoint(value)


def test_factory_reads_settings_and_is_cached(cloudsim):
    cloudsim.load(failover_scenario(None))
    gateway = tencent_gateway()
    assert gateway is tencent_gateway()
    assert [c.id for c in gateway.live_channel_list()] == [CHANNEL]


def test_demo_mode_signs_with_the_simulator_key(cloudsim, settings):
    cloudsim.load({})
    settings.TENCENTCLOUD_SECRET_ID = ""
    settings.TENCENTCLOUD_SECRET_KEY = ""
    settings.CLOUD_DEMO = True
    tencent_gateway.cache_clear()
    assert tencent_gateway().live_channel_list() == []


def test_missing_credentials_outside_demo_is_an_auth_error(cloudsim, settings):
    settings.TENCENTCLOUD_SECRET_ID = ""
    settings.TENCENTCLOUD_SECRET_KEY = ""
    settings.CLOUD_DEMO = False
    tencent_gateway.cache_clear()
    with pytest.raises(CloudAuthError) as exc:
        tencent_gateway().live_channel_list()
    assert exc.value.code == "InvalidCredential"
    assert cloudsim.requests() == []


# --- error mapping --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "code", "cls"),
    [
        ("mdl", "AuthFailure.SignatureFailure", CloudAuthError),
        ("mdl", "UnauthorizedOperation", CloudAuthError),
        ("mdl", "UnsupportedRegion", CloudAuthError),
        ("mdl", "InvalidParameter.NotFound", CloudNotFound),
        ("mdl", "InvalidParameter.ChannelId", CloudNotFound),
        ("mdc", "InvalidParameter.Id", CloudNotFound),
        ("mdp", "InvalidParameter.NotFound", CloudNotFound),
        ("live", "ResourceNotFound.DomainNotExist", CloudNotFound),
        ("live", "FailedOperation.StreamNotExist", CloudNotFound),
        ("mdl", "InvalidParameter.StateError", CloudStateError),
        ("mdl", "InvalidParameter.State", CloudStateError),
        ("mdc", "InvalidParameter.State", CloudStateError),
        ("mdl", "InvalidParameter.AttachedInputs", CloudInvalidRequest),
        ("mdl", "MissingParameter", CloudInvalidRequest),
        ("mdl", "UnknownParameter", CloudInvalidRequest),
        ("mdl", "InvalidAction", CloudInvalidRequest),
        ("live", "InvalidParameterValue", CloudInvalidRequest),
        ("mdl", "RequestLimitExceeded", CloudRateLimited),
        ("mdl", "RequestLimitExceeded.UinLimitExceeded", CloudRateLimited),
        ("live", "LimitExceeded.RateLimitExceeded", CloudRateLimited),
        ("mdl", "LimitExceeded", CloudQuotaExceeded),
        ("mdl", "InvalidParameter.ExceededQuantityLimit", CloudQuotaExceeded),
        ("mdl", "InternalError", CloudTransientError),
        ("live", "InternalError.GetStreamInfoError", CloudTransientError),
        ("mdl", "ServiceUnavailable", CloudTransientError),
        ("mdl", "ClientNetworkError", CloudUnreachable),
        ("mdl", "ServerNetworkError", CloudUnreachable),
        ("live", "FailedOperation", CloudPermanentError),
    ],
)
def test_vendor_codes_map_to_one_error_class(service, code, cls):
    error = map_sdk_error(
        TencentCloudSDKException(code, b"raw body" if "Network" in code else "text", "req-1"),
        service=service,
        action="Act",
    )
    assert type(error) is cls
    assert (error.code, error.request_id, error.action, error.vendor) == (
        code,
        "req-1",
        "Act",
        "tencent",
    )
    assert isinstance(error.message, str)


def test_not_found_keeps_code_message_and_request_id(cloudsim):
    cloudsim.load({})
    with pytest.raises(CloudNotFound) as exc:
        gateway_for(cloudsim).live_input_get(input_id="6A0000000000000000AA")
    assert exc.value.code == "InvalidParameter.NotFound"
    assert "6A0000000000000000AA" in exc.value.message
    assert len(exc.value.request_id) == 36  # the simulator's uuid4 RequestId


def test_a_closed_port_is_unreachable(cloudsim):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = gateway_for(cloudsim, endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(CloudUnreachable) as exc:
        gateway.live_channel_list()
    assert exc.value.code == "ClientNetworkError"


def test_a_slow_answer_times_out_as_unreachable(cloudsim):
    cloudsim.load({})
    cloudsim.control("fault", {"service": "mdl", "timeout": True, "timeout_s": 1.5})
    started = time.monotonic()
    with pytest.raises(CloudUnreachable) as exc:
        gateway_for(cloudsim, timeout_s=0.3).live_channel_list()
    assert exc.value.code == "ClientNetworkError"
    assert time.monotonic() - started < 1.2


def test_http_500_is_unreachable_with_the_body_as_message(cloudsim):
    cloudsim.load({})
    cloudsim.control("fault", {"service": "mdl", "http_status": 500})
    with pytest.raises(CloudUnreachable) as exc:
        gateway_for(cloudsim).live_channel_list()
    assert exc.value.code == "ServerNetworkError"
    assert exc.value.message == "injected fault"


# --- retries --------------------------------------------------------------------------------
def test_transient_errors_are_retried_within_the_bound(cloudsim):
    cloudsim.load({})
    cloudsim.control("fault", {"service": "mdl", "error_code": "InternalError", "count": 2})
    assert gateway_for(cloudsim, max_retries=2).live_channel_list() == []
    assert len(cloudsim.requests("mdl", "DescribeStreamLiveChannels")) == 3


def test_retries_stop_at_the_bound(cloudsim):
    cloudsim.load({})
    cloudsim.control("fault", {"service": "mdl", "error_code": "InternalError", "count": 5})
    with pytest.raises(CloudTransientError) as exc:
        gateway_for(cloudsim, max_retries=1).live_channel_list()
    assert exc.value.code == "InternalError"
    assert len(cloudsim.requests("mdl", "DescribeStreamLiveChannels")) == 2


def test_permanent_errors_are_not_retried(cloudsim):
    cloudsim.load({})
    with pytest.raises(CloudNotFound):
        gateway_for(cloudsim, max_retries=3).live_channel_get(channel_id="6B00000000000000FFFF")
    assert len(cloudsim.requests("mdl", "DescribeStreamLiveChannel")) == 1


def test_a_start_is_not_retried_after_a_timeout(cloudsim):
    cloudsim.load(failover_scenario(None, state="IDLE"))
    cloudsim.control(
        "fault",
        {"service": "mdl", "action": "StartStreamLiveChannel", "timeout": True, "timeout_s": 1},
    )
    with pytest.raises(CloudUnreachable):
        gateway_for(cloudsim, max_retries=3, timeout_s=0.3).live_channel_start(channel_id=CHANNEL)
    assert len(cloudsim.requests("mdl", "StartStreamLiveChannel")) == 1


def test_a_start_is_retried_after_a_throttle(cloudsim):
    cloudsim.load(failover_scenario(None, state="IDLE"))
    cloudsim.control(
        "fault",
        {
            "service": "mdl",
            "action": "StartStreamLiveChannel",
            "error_code": "RequestLimitExceeded",
        },
    )
    gateway = gateway_for(cloudsim, max_retries=2)
    gateway.live_channel_start(channel_id=CHANNEL)
    assert len(cloudsim.requests("mdl", "StartStreamLiveChannel")) == 2
    assert gateway.live_channel_get(channel_id=CHANNEL).state == "STARTING"


# --- read-modify-write ----------------------------------------------------------------------
def test_failover_modify_changes_only_the_named_input(cloudsim):
    cloudsim.load(demo_scenario())
    gateway = gateway_for(cloudsim)
    channel = next(c for c in gateway.live_channel_list() if c.name == "channel-news-002")
    main, backup = channel.input_ids
    before = raw_call(gateway, "mdl", "DescribeStreamLiveChannel", {"Id": channel.id})["Info"]

    wanted = FailOverSettings(backup, 5000, "PRIMARY_PREFERRED")
    returned = gateway.live_channel_failover_modify(channel_id=channel.id, changes={main: wanted})
    after = raw_call(gateway, "mdl", "DescribeStreamLiveChannel", {"Id": channel.id})["Info"]

    assert returned.attached_inputs[0].failover == wanted
    assert after["AttachedInputs"][0]["FailOverSettings"] == wanted.to_api()
    # Every member as it was read, nulls included: the SDK never sends nulls and the cloud
    # reports unset members as null again.
    expected = copy.deepcopy(before)
    expected["AttachedInputs"][0]["FailOverSettings"] = wanted.to_api()
    assert after == expected
    # The backup's empty object went back exactly as it was read.
    assert after["AttachedInputs"][1]["FailOverSettings"] == EMPTY_FAILOVER
    (sent,) = [r["params"] for r in cloudsim.requests("mdl", "ModifyStreamLiveChannel")]
    assert "State" not in sent and sent == _strip_none(sent)
    assert sent["EventNotifySettings"] == before["EventNotifySettings"]


def test_failover_modify_none_removes_the_settings(cloudsim):
    cloudsim.load(failover_scenario(EMPTY_FAILOVER, state="IDLE"))
    gateway = gateway_for(cloudsim)
    gateway.live_channel_failover_modify(channel_id=CHANNEL, changes={PRIMARY: None})
    info = raw_call(gateway, "mdl", "DescribeStreamLiveChannel", {"Id": CHANNEL})["Info"]
    assert "FailOverSettings" not in info["AttachedInputs"][0]
    assert info["AttachedInputs"][1]["FailOverSettings"] == EMPTY_FAILOVER


def test_failover_modify_refuses_inputs_that_are_not_attached(cloudsim):
    cloudsim.load(failover_scenario(None, state="IDLE"))
    with pytest.raises(CloudInvalidRequest) as exc:
        gateway_for(cloudsim).live_channel_failover_modify(
            channel_id=CHANNEL, changes={"6A00000000000000FFFF": FailOverSettings()}
        )
    assert exc.value.code == "InputNotAttached"
    assert cloudsim.requests("mdl", "ModifyStreamLiveChannel") == []


def test_failover_modify_repairs_the_incident_channel(cloudsim):
    """Three attached inputs, all empty (seed 000): pair the first two, leave the third."""
    ids = ["69425CAF0000BBDE05D7", "696DBEAA525C101CD983", "696DC83753681085A29E"]
    channel = live_channel(CHANNEL, "cj_onstyle", [attached(i, dict(EMPTY_FAILOVER)) for i in ids])
    cloudsim.load(
        {
            "mdl": {
                "channels": [channel],
                "inputs": [rtmp_input(i, f"k{n}") for n, i in enumerate(ids)],
            }
        }
    )
    gateway = gateway_for(cloudsim)
    fix = FailOverSettings(ids[1], 3000, "CURRENT_PREFERRED")
    gateway.live_channel_failover_modify(channel_id=CHANNEL, changes={ids[0]: fix})
    repaired = gateway.live_channel_get(channel_id=CHANNEL)
    assert [a.failover for a in repaired.attached_inputs] == [
        fix,
        FailOverSettings(),
        FailOverSettings(),
    ]


# --- every read method, once, against the demo ------------------------------------------------
def test_every_read_returns_dataclasses(cloudsim):
    cloudsim.load(demo_scenario())
    gateway = gateway_for(cloudsim)
    channel = next(c for c in gateway.live_channel_list() if c.name == "cj_onstyle")
    assert channel.output_groups[0].stream_package_id
    assert gateway.live_channel_get(channel_id=channel.id) == channel
    assert gateway.live_channel_alert_list(channel_id=channel.id) == []
    assert {e.type for e in gateway.live_channel_log_list(channel_id=channel.id)} == {"StreamStart"}
    stats = gateway.live_channel_input_statistics(channel_id=channel.id)
    assert stats.active_input_id(0) == channel.input_ids[0]
    state = gateway.live_input_stream_state(input_id=channel.input_ids[0])
    assert state.input_id == channel.input_ids[0] and all(s.active for s in state.streams)
    assert gateway.live_channel_plan_list(channel_id=channel.id) == []
    flow = next(f for f in gateway.link_flow_list() if f.name == "cj_onstyle_m2")
    assert gateway.link_flow_get(flow_id=flow.id) == flow
    assert gateway.link_flow_status(flow_id=flow.id).connected("Output")
    assert gateway.link_flow_log_list(flow_id=flow.id).total_num == 2
    assert len(gateway.package_channel_list()) == 12
    assert len(gateway.css_stream_online_list()) == 6


# --- fan-out --------------------------------------------------------------------------------
def test_map_parallel_keeps_order_and_returns_cloud_errors_in_place(cloudsim):
    cloudsim.load(failover_scenario(None))
    gateway = gateway_for(cloudsim)
    ids = [CHANNEL, "6B00000000000000FFFF", CHANNEL]
    results = map_parallel(lambda cid: gateway.live_channel_get(channel_id=cid), ids, max_workers=3)
    assert results[0].id == results[2].id == CHANNEL
    assert isinstance(results[1], CloudNotFound)
    assert map_parallel(lambda x: x, []) == []


def test_map_parallel_completed_yields_each_answer_as_it_comes(cloudsim):
    cloudsim.load(failover_scenario(None))
    gateway = gateway_for(cloudsim)
    release = threading.Event()

    def call(cid):
        if cid == "slow":
            assert release.wait(10), "the fast answers never reached the caller"
            return "slow"
        return gateway.live_channel_get(channel_id=cid)

    got, outcomes = [], {}
    for item, outcome in map_parallel_completed(
        call, ["slow", CHANNEL, "6B00000000000000FFFF"], max_workers=3
    ):
        got.append(item)
        outcomes[item] = outcome
        if len(got) == 2:
            release.set()  # the two fast ones came first, while "slow" was still running
    assert got[2] == "slow" and set(got[:2]) == {CHANNEL, "6B00000000000000FFFF"}
    assert outcomes[CHANNEL].id == CHANNEL and outcomes["slow"] == "slow"
    assert isinstance(outcomes["6B00000000000000FFFF"], CloudNotFound)
    assert list(map_parallel_completed(lambda x: x, [])) == []


def test_map_parallel_hides_latency_within_the_client_limit(cloudsim):
    channels = [
        live_channel(f"6B{n:018X}", f"ch-{n}", [attached(f"6A{n:018X}")]) for n in range(30)
    ]
    inputs = [rtmp_input(f"6A{n:018X}", f"k{n}") for n in range(30)]
    cloudsim.load({"mdl": {"channels": channels, "inputs": inputs}})
    cloudsim.control("latency", {"ms": 200})
    gateway = gateway_for(cloudsim, rate_fraction=0.5, limiter=tencent_gateway().limiter)
    started = time.monotonic()
    results = map_parallel(
        lambda c: gateway.live_channel_get(channel_id=c["Id"]), channels, max_workers=8
    )
    elapsed = time.monotonic() - started
    # Not one throttle: the client keeps to half the documented 20/s.
    assert not [r for r in results if isinstance(r, CloudError)]
    assert [r.id for r in results] == [c["Id"] for c in channels]
    # Serial: 30 x 200 ms = 6 s. At 10/s with a burst of 10 the limiter allows ~2 s.
    assert 1.8 < elapsed < 4


def test_client_limiter_spaces_calls_of_one_action(cloudsim):
    cloudsim.load(failover_scenario(None))
    gateway = gateway_for(cloudsim, rate_fraction=0.25, limiter=tencent_gateway().limiter)
    started = time.monotonic()
    for _ in range(10):
        gateway.live_channel_get(channel_id=CHANNEL)
    # 5/s with a burst of 5: the last 5 calls wait 0.2 s each.
    assert time.monotonic() - started >= 0.9
