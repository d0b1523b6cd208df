"""The Tencent simulator's behaviour, through the real SDK over HTTP (the gateway on top)."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from broadcastops.cloud.errors import (
    CloudAuthError,
    CloudInvalidRequest,
    CloudNotFound,
    CloudStateError,
)
from broadcastops.cloud.tests.tencent_support import (
    CHANNEL,
    EMPTY_FAILOVER,
    PRIMARY,
    SECONDARY,
    attached,
    demo_scenario,
    failover_scenario,
    gateway_for,
    live_channel,
    raw_call,
    rtmp_input,
)
from broadcastops.cloud.types import CssStreamState, FailOverSettings


@pytest.fixture
def gw(cloudsim):
    return gateway_for(cloudsim)


def advance(cloudsim, seconds: float) -> None:
    cloudsim.control("clock", {"advance_s": seconds})


def active_inputs(cloudsim, channel_id: str = CHANNEL) -> list:
    return cloudsim.control("inspect")["channels"][channel_id]["ActiveInputs"]


def signal(cloudsim, input_id: str, present: bool, pipeline=None) -> None:
    cloudsim.control("signal", {"input_id": input_id, "pipeline": pipeline, "present": present})


def by_name(gw, name: str):
    return next(c for c in gw.live_channel_list() if c.name == name)


def paired(behavior: str = "CURRENT_PREFERRED", threshold: int = 2000) -> dict:
    return {"SecondaryInputId": SECONDARY, "LossThreshold": threshold, "RecoverBehavior": behavior}


# --- channel state machine ------------------------------------------------------------------
def test_channel_start_goes_through_starting_to_running_then_stop_to_idle(cloudsim, gw):
    cloudsim.load(failover_scenario(None, state="IDLE"))
    gw.live_channel_start(channel_id=CHANNEL)
    assert gw.live_channel_get(channel_id=CHANNEL).state == "STARTING"
    with pytest.raises(CloudStateError) as starting:
        gw.live_channel_start(channel_id=CHANNEL)
    assert starting.value.code == "InvalidParameter.StateError"

    deadline = time.monotonic() + 3
    while gw.live_channel_get(channel_id=CHANNEL).state != "RUNNING":
        assert time.monotonic() < deadline, "the channel never reached RUNNING"
        time.sleep(0.05)
    with pytest.raises(CloudStateError):
        gw.live_channel_start(channel_id=CHANNEL)

    gw.live_channel_stop(channel_id=CHANNEL)
    assert gw.live_channel_get(channel_id=CHANNEL).state == "STOPPING"
    advance(cloudsim, 0.2)
    assert gw.live_channel_get(channel_id=CHANNEL).state == "IDLE"
    with pytest.raises(CloudStateError) as idle:
        gw.live_channel_stop(channel_id=CHANNEL)
    assert idle.value.code == "InvalidParameter.StateError"


def test_scenario_running_channels_start_running_with_history(cloudsim, gw):
    cloudsim.load(failover_scenario(None, state="RUNNING"))
    assert gw.live_channel_list()[0].state == "RUNNING"
    logs = gw.live_channel_log_list(channel_id=CHANNEL)
    assert {(e.pipeline, e.type) for e in logs} == {(0, "StreamStart"), (1, "StreamStart")}
    stats = gw.live_channel_input_statistics(channel_id=CHANNEL)
    assert stats.active_input_id(0) == stats.active_input_id(1) == PRIMARY


def test_unknown_channel_is_not_found(cloudsim, gw):
    cloudsim.load(failover_scenario(None))
    with pytest.raises(CloudNotFound) as exc:
        gw.live_channel_get(channel_id="6B0000000000000000FF")
    assert exc.value.code == "InvalidParameter.NotFound"
    assert exc.value.request_id


# --- modify ---------------------------------------------------------------------------------
def test_modify_is_refused_on_a_running_channel_by_default(cloudsim, gw):
    cloudsim.load(failover_scenario(EMPTY_FAILOVER, state="RUNNING"))
    with pytest.raises(CloudStateError) as exc:
        gw.live_channel_failover_modify(
            channel_id=CHANNEL,
            changes={PRIMARY: FailOverSettings(SECONDARY, 3000, "CURRENT_PREFERRED")},
        )
    assert exc.value.code == "InvalidParameter.StateError"
    assert gw.live_channel_get(channel_id=CHANNEL).attached_inputs[0].failover.is_empty


def test_modify_is_accepted_on_a_running_channel_when_the_option_allows(cloudsim, gw):
    cloudsim.load(failover_scenario(EMPTY_FAILOVER, state="RUNNING"))
    cloudsim.control("options", {"modify_running_allowed": True})
    wanted = FailOverSettings(SECONDARY, 3000, "CURRENT_PREFERRED")
    gw.live_channel_failover_modify(channel_id=CHANNEL, changes={PRIMARY: wanted})
    channel = gw.live_channel_get(channel_id=CHANNEL)
    assert channel.state == "RUNNING"
    assert channel.attached_inputs[0].failover == wanted


def test_modify_is_a_full_replace_with_required_fields(cloudsim, gw):
    cloudsim.load(failover_scenario(None, state="IDLE"))
    before = raw_call(gw, "mdl", "DescribeStreamLiveChannel", {"Id": CHANNEL})["Info"]
    minimal = {k: before[k] for k in ("Id", "Name", "AttachedInputs", "OutputGroups")}
    for missing in minimal:
        params = {k: v for k, v in minimal.items() if k != missing}
        with pytest.raises(CloudInvalidRequest) as exc:
            gw._call("mdl", "ModifyStreamLiveChannel", params)
        assert exc.value.code == "MissingParameter"
        assert missing in exc.value.message
    gw._call("mdl", "ModifyStreamLiveChannel", minimal)
    after = raw_call(gw, "mdl", "DescribeStreamLiveChannel", {"Id": CHANNEL})["Info"]
    # Nothing is merged: set members left out are gone, unset (null) ones stay null.
    unset = {k: None for k, v in before.items() if v is None}
    assert after == {"State": "IDLE", **unset, **minimal}


def test_modify_rejects_unknown_parameters_such_as_state(cloudsim, gw):
    cloudsim.load(failover_scenario(None, state="IDLE"))
    info = raw_call(gw, "mdl", "DescribeStreamLiveChannel", {"Id": CHANNEL})["Info"]
    with pytest.raises(CloudInvalidRequest) as exc:
        gw._call("mdl", "ModifyStreamLiveChannel", info)
    assert exc.value.code == "UnknownParameter"


@pytest.mark.parametrize(
    "failover",
    [
        {"SecondaryInputId": "6A0000000000000000FF", "LossThreshold": 3000},
        {"SecondaryInputId": PRIMARY, "LossThreshold": 3000},
        {"SecondaryInputId": SECONDARY, "LossThreshold": 999},
        {"SecondaryInputId": SECONDARY, "LossThreshold": 86400001},
        {"SecondaryInputId": SECONDARY, "LossThreshold": 3000, "RecoverBehavior": "ALWAYS"},
        {"SecondaryInputId": "", "LossThreshold": 3000, "RecoverBehavior": "CURRENT_PREFERRED"},
    ],
)
def test_modify_rejects_invalid_failover_settings(cloudsim, gw, failover):
    cloudsim.load(failover_scenario(None, state="IDLE"))
    info = raw_call(gw, "mdl", "DescribeStreamLiveChannel", {"Id": CHANNEL})["Info"]
    info.pop("State")
    info["AttachedInputs"][0]["FailOverSettings"] = failover
    with pytest.raises(CloudInvalidRequest) as exc:
        gw._call("mdl", "ModifyStreamLiveChannel", info)
    assert exc.value.code == "InvalidParameter.AttachedInputs"


def test_modify_rejects_a_secondary_of_another_input_type(cloudsim, gw):
    scenario = failover_scenario(None, state="IDLE")
    scenario["mdl"]["inputs"][1] = rtmp_input(SECONDARY, "s1", input_type="RTP_PUSH")
    cloudsim.load(scenario)
    with pytest.raises(CloudInvalidRequest) as exc:
        gw.live_channel_failover_modify(
            channel_id=CHANNEL,
            changes={PRIMARY: FailOverSettings(SECONDARY, 3000, "CURRENT_PREFERRED")},
        )
    assert "same type" in exc.value.message


def test_modify_accepts_and_echoes_the_empty_failover_object(cloudsim, gw):
    cloudsim.load(failover_scenario(None, state="IDLE"))
    gw.live_channel_failover_modify(channel_id=CHANNEL, changes={PRIMARY: FailOverSettings()})
    info = raw_call(gw, "mdl", "DescribeStreamLiveChannel", {"Id": CHANNEL})["Info"]
    assert info["AttachedInputs"][0]["FailOverSettings"] == EMPTY_FAILOVER


def test_an_input_attached_elsewhere_cannot_be_attached(cloudsim, gw):
    scenario = failover_scenario(None, state="IDLE")
    other = live_channel("6B000000000000000002", "other", [attached("6A000000000000000009")])
    scenario["mdl"]["channels"].append(other)
    scenario["mdl"]["inputs"].append(rtmp_input("6A000000000000000009", "o"))
    cloudsim.load(scenario)
    info = raw_call(gw, "mdl", "DescribeStreamLiveChannel", {"Id": CHANNEL})["Info"]
    info.pop("State")
    info["AttachedInputs"].append(attached("6A000000000000000009"))
    with pytest.raises(CloudInvalidRequest) as exc:
        gw._call("mdl", "ModifyStreamLiveChannel", info)
    assert exc.value.code == "InvalidParameter.AlreadyAssociatedChannel"


# --- input failover -------------------------------------------------------------------------
def test_failover_switches_after_loss_threshold_with_log_alert_and_statistics(cloudsim, gw):
    cloudsim.load(failover_scenario(paired(threshold=2000)))
    signal(cloudsim, PRIMARY, False)
    advance(cloudsim, 1.5)
    assert active_inputs(cloudsim) == [PRIMARY, PRIMARY]  # not before LossThreshold
    alerts = gw.live_channel_alert_list(channel_id=CHANNEL)
    assert [(a.pipeline, a.active) for a in alerts] == [(0, True), (1, True)]
    assert all(PRIMARY in a.message for a in alerts)

    advance(cloudsim, 1.0)
    assert active_inputs(cloudsim) == [SECONDARY, SECONDARY]
    logs = gw.live_channel_log_list(channel_id=CHANNEL)
    failovers = [e for e in logs if e.type == "PipelineFailover"]
    assert sorted(e.pipeline for e in failovers) == [0, 1]
    state = gw.live_input_stream_state(input_id=PRIMARY)
    assert [s.active for s in state.streams] == [False, False]
    assert [s.active for s in gw.live_input_stream_state(input_id=SECONDARY).streams] == [
        True,
        True,
    ]

    advance(cloudsim, 10)
    stats = gw.live_channel_input_statistics(channel_id=CHANNEL, period="5s")
    assert stats.active_input_id(0) == stats.active_input_id(1) == SECONDARY
    primary_latest = [s.latest for s in stats.inputs if s.input_id == PRIMARY]
    assert all(sample.network_in_bps == 0 for sample in primary_latest)

    # CURRENT_PREFERRED: the primary comes back, the channel stays where it is.
    signal(cloudsim, PRIMARY, True)
    advance(cloudsim, 5)
    assert active_inputs(cloudsim) == [SECONDARY, SECONDARY]
    assert not any(a.active for a in gw.live_channel_alert_list(channel_id=CHANNEL))


def test_primary_preferred_switches_back_when_the_primary_recovers(cloudsim, gw):
    cloudsim.load(failover_scenario(paired("PRIMARY_PREFERRED", threshold=1000)))
    signal(cloudsim, PRIMARY, False, pipeline=0)
    advance(cloudsim, 1.5)
    assert active_inputs(cloudsim) == [SECONDARY, PRIMARY]  # only pipeline 0 lost its input
    signal(cloudsim, PRIMARY, True, pipeline=0)
    assert active_inputs(cloudsim) == [PRIMARY, PRIMARY]
    types = [e.type for e in gw.live_channel_log_list(channel_id=CHANNEL) if e.pipeline == 0]
    assert types[-3:] == ["StreamStart", "PipelineFailover", "PipelineRecover"]


def test_log_types_follow_the_simulator_options(cloudsim, gw):
    cloudsim.load(failover_scenario(paired("PRIMARY_PREFERRED", threshold=1000)))
    cloudsim.control(
        "options", {"failover_log_type": "InputFailover", "recover_log_type": "InputRecover"}
    )
    signal(cloudsim, PRIMARY, False)
    advance(cloudsim, 1.2)
    signal(cloudsim, PRIMARY, True)
    types = {e.type for e in gw.live_channel_log_list(channel_id=CHANNEL)}
    assert {"InputFailover", "InputRecover"} <= types


def test_misconfigured_failover_leaves_the_pipeline_without_input(cloudsim, gw):
    cloudsim.load(failover_scenario(EMPTY_FAILOVER))
    signal(cloudsim, PRIMARY, False)
    advance(cloudsim, 30)
    assert active_inputs(cloudsim) == [PRIMARY, PRIMARY]
    stats = gw.live_channel_input_statistics(channel_id=CHANNEL, period="5s")
    assert stats.active_input_id(0) is None and stats.active_input_id(1) is None
    assert [a.active for a in gw.live_channel_alert_list(channel_id=CHANNEL)] == [True, True]
    assert not any(
        e.type == "PipelineFailover" for e in gw.live_channel_log_list(channel_id=CHANNEL)
    )


def test_failover_follows_real_time_without_background_threads(cloudsim, gw):
    cloudsim.load(failover_scenario(paired(threshold=1000)))
    signal(cloudsim, PRIMARY, False)
    started = time.monotonic()
    while active_inputs(cloudsim) != [SECONDARY, SECONDARY]:
        assert time.monotonic() - started < 3, "no failover within 3 s of a 1 s threshold"
        time.sleep(0.05)
    assert time.monotonic() - started >= 0.9


def test_stopping_the_main_streamlink_flow_fails_the_channel_over(cloudsim, gw):
    cloudsim.load(demo_scenario())
    channel = by_name(gw, "channel-kbo-001")
    main_flow = next(f for f in gw.link_flow_list() if f.name == "kbo001_m")
    gw.link_flow_stop(flow_id=main_flow.id)
    advance(cloudsim, 3.5)
    backup = channel.attached_inputs[0].failover.secondary_input_id
    assert active_inputs(cloudsim, channel.id) == [backup, backup]


def test_a_flapping_main_input_fails_over_and_back(cloudsim, gw):
    cloudsim.load(demo_scenario())
    channel = by_name(gw, "channel-sports-002")
    main, backup = channel.input_ids
    advance(cloudsim, 125)  # the 120 s flapping period: down, then 3 s LossThreshold
    assert active_inputs(cloudsim, channel.id) == [backup, backup]
    advance(cloudsim, 120)  # up again: PRIMARY_PREFERRED switches back
    assert active_inputs(cloudsim, channel.id) == [main, main]
    types = [e.type for e in gw.live_channel_log_list(channel_id=channel.id)]
    assert types.count("PipelineFailover") == 2 and types.count("PipelineRecover") == 2


# --- StreamLive reads and windows -----------------------------------------------------------
def test_inputs_carry_attached_channels_and_two_input_settings(cloudsim, gw):
    cloudsim.load(demo_scenario())
    channels = {c.id: c for c in gw.live_channel_list()}
    inputs = gw.live_input_list()
    assert len(inputs) == 25
    for live_input in inputs:
        assert len(live_input.endpoints) == 2
        (channel_id,) = live_input.attached_channel_ids
        assert live_input.id in channels[channel_id].input_ids
        assert live_input.endpoints[0].push_url.startswith("rtmp://")
    single = gw.live_input_get(input_id=inputs[0].id)
    assert single == inputs[0]


def test_log_and_statistics_windows_follow_the_documented_rules(cloudsim, gw):
    cloudsim.load(failover_scenario(None))
    now = datetime.now(UTC)
    with pytest.raises(CloudInvalidRequest) as old:
        gw.live_channel_log_list(channel_id=CHANNEL, start=now - timedelta(days=8))
    assert old.value.code == "InvalidParameter.StartTime"
    with pytest.raises(CloudInvalidRequest) as reversed_:
        gw.live_channel_log_list(channel_id=CHANNEL, start=now, end=now - timedelta(minutes=5))
    assert reversed_.value.code == "InvalidParameter.EndTime"
    with pytest.raises(CloudInvalidRequest) as period:
        gw.live_channel_input_statistics(channel_id=CHANNEL, period="2min")
    assert period.value.code == "InvalidParameter.Period"
    # An explicit window only returns what lies in it.
    assert gw.live_channel_log_list(channel_id=CHANNEL, start=now - timedelta(minutes=5)) == []


def test_plans_are_listed_and_an_immediate_input_switch_switches(cloudsim, gw):
    cloudsim.load(failover_scenario(None))
    plan = {
        "EventName": "to-backup",
        "TimingSettings": {"StartType": "IMMEDIATE"},
        "EventSettings": {"EventType": "INPUT_SWITCH", "InputAttachment": SECONDARY},
    }
    gw._call("mdl", "CreateStreamLivePlan", {"ChannelId": CHANNEL, "Plan": plan})
    (listed,) = gw.live_channel_plan_list(channel_id=CHANNEL)
    assert (listed.event_name, listed.event_type, listed.input_attachment) == (
        "to-backup",
        "INPUT_SWITCH",
        SECONDARY,
    )
    assert active_inputs(cloudsim) == [SECONDARY, SECONDARY]


# --- StreamLink -----------------------------------------------------------------------------
def test_streamlink_flows_are_paged(cloudsim, gw):
    cloudsim.load(demo_scenario())
    page = raw_call(gw, "mdc", "DescribeStreamLinkFlows", {"PageNum": 5, "PageSize": 5})
    assert (len(page["Infos"]), page["TotalNum"], page["TotalPage"]) == (4, 24, 5)
    flows = gw.link_flow_list(page_size=5)
    assert len({f.id for f in flows}) == 24
    assert len(cloudsim.requests("mdc", "DescribeStreamLinkFlows")) == 6
    with pytest.raises(CloudInvalidRequest) as exc:
        gw._call("mdc", "DescribeStreamLinkFlows", {"PageSize": 0})
    assert exc.value.code == "InvalidParameter.PageSize"


def test_streamlink_start_stop_state_and_realtime_status(cloudsim, gw):
    cloudsim.load(demo_scenario())
    flow = next(f for f in gw.link_flow_list() if f.state == "IDLE")
    assert {i.state for i in gw.link_flow_status(flow_id=flow.id).items} == {"Idle"}
    gw.link_flow_start(flow_id=flow.id)
    assert gw.link_flow_get(flow_id=flow.id).state == "RUNNING"
    status = gw.link_flow_status(flow_id=flow.id)
    assert status.connected("Input") and status.connected("Output")
    with pytest.raises(CloudStateError) as again:
        gw.link_flow_start(flow_id=flow.id)
    assert again.value.code == "InvalidParameter.State"

    source = flow.inputs[0].id
    signal(cloudsim, source, False)  # the encoder feeding StreamLink stops
    assert {i.state for i in gw.link_flow_status(flow_id=flow.id).items} == {"Waiting"}
    gw.link_flow_stop(flow_id=flow.id)
    with pytest.raises(CloudStateError):
        gw.link_flow_stop(flow_id=flow.id)
    with pytest.raises(CloudNotFound) as missing:
        gw.link_flow_get(flow_id="6C00000000000000FFFF")
    assert missing.value.code == "InvalidParameter.Id"


def test_streamlink_logs_are_paged_sorted_and_windowed(cloudsim, gw):
    cloudsim.load(demo_scenario())
    flow = next(f for f in gw.link_flow_list() if f.state == "IDLE")
    gw.link_flow_start(flow_id=flow.id)
    advance(cloudsim, 1)
    gw.link_flow_stop(flow_id=flow.id)
    end = datetime.now(UTC) + timedelta(seconds=5)
    page = gw.link_flow_log_list(flow_id=flow.id, end=end, page_size=1)
    assert (page.total_num, page.total_page, len(page.items)) == (4, 4, 1)
    assert page.items[0].event_code == "1001"  # newest first: the stop
    oldest = gw.link_flow_log_list(flow_id=flow.id, end=end, newest_first=False).items[0]
    assert (oldest.event_code, oldest.event_message) == ("1000", "Access Granted")
    inputs_only = gw.link_flow_log_list(flow_id=flow.id, end=end, kinds=("input",))
    assert {e.kind for e in inputs_only.items} == {"input"}
    with pytest.raises(CloudInvalidRequest) as window:
        gw.link_flow_log_list(flow_id=flow.id, start=end - timedelta(hours=25), end=end)
    assert window.value.code == "InvalidParameter.EndTime"


def test_streamlink_outputs_match_streamlive_inputs_except_the_deliberate_mismatch(cloudsim, gw):
    cloudsim.load(demo_scenario())
    push_urls = {e.push_url: i.id for i in gw.live_input_list() for e in i.endpoints}
    unmatched = [
        f.name
        for f in gw.link_flow_list()
        for o in f.outputs
        for d in o.destinations
        if d.full_url not in push_urls
    ]
    assert unmatched == ["shopping001_b", "shopping001_b"]


# --- StreamPackage and CSS ------------------------------------------------------------------
def test_streampackage_channels_have_two_inputs_and_no_state(cloudsim, gw):
    cloudsim.load(demo_scenario())
    raw = raw_call(gw, "mdp", "DescribeStreamPackageChannels", {"PageSize": 100})
    assert raw["TotalNum"] == 12
    assert all("State" not in info for info in raw["Infos"])
    channels = gw.package_channel_list(page_size=5)
    assert len(channels) == 12
    assert all(len(c.input_urls) == 2 for c in channels)
    assert "-1." in channels[0].input_urls[0] and "-2." in channels[0].input_urls[1]
    assert gw.package_channel_get(channel_id=channels[0].id) == channels[0]
    with pytest.raises(CloudNotFound):
        gw.package_channel_get(channel_id="NOPE")


def test_css_drop_forbid_resume_and_the_online_list(cloudsim, gw):
    cloudsim.load(demo_scenario())
    stream = {"domain_name": "push.ottdemo.kr", "stream_name": "kbo001"}
    online = gw.css_stream_online_list(page_size=10)
    assert len(online) == 6 and "kbo001" in {s.stream_name for s in online}
    assert all(s.publish_times for s in online)

    gw.css_stream_drop(**stream)
    assert gw.css_stream_state(**stream) is CssStreamState.INACTIVE
    gw.css_stream_drop(**stream)  # dropping an inactive stream succeeds
    assert "kbo001" not in {s.stream_name for s in gw.css_stream_online_list()}

    gw.css_stream_forbid(**stream, reason="rights")
    assert gw.css_stream_state(**stream) is CssStreamState.FORBID
    cloudsim.control("css_push", {"StreamName": "kbo001"})
    assert gw.css_stream_state(**stream) is CssStreamState.FORBID  # a forbidden push is refused
    gw.css_stream_resume(**stream)
    assert gw.css_stream_state(**stream) is CssStreamState.INACTIVE
    cloudsim.control("css_push", {"StreamName": "kbo001"})
    assert gw.css_stream_state(**stream) is CssStreamState.ACTIVE

    with pytest.raises(CloudNotFound) as exc:
        gw.css_stream_state(domain_name="unknown.example", stream_name="x")
    assert exc.value.code == "ResourceNotFound.DomainNotExist"


# --- transport ------------------------------------------------------------------------------
def test_unknown_action_missing_and_unknown_parameters(cloudsim, gw):
    cloudsim.load({})
    cases = [
        ("DescribeNothing", {}, "InvalidAction"),
        ("DescribeStreamLiveChannel", {}, "MissingParameter"),
        ("DescribeStreamLiveChannels", {"PageNum": 1}, "UnknownParameter"),
    ]
    for action, params, code in cases:
        with pytest.raises(CloudInvalidRequest) as exc:
            gw._call("mdl", action, params)
        assert exc.value.code == code


def test_region_is_required_for_streamlive(cloudsim):
    cloudsim.load({})
    with pytest.raises(CloudInvalidRequest) as exc:
        gateway_for(cloudsim, region="").live_channel_list()
    assert exc.value.code == "MissingParameter"


def test_denied_actions_answer_unauthorized_operation(cloudsim, gw):
    cloudsim.load({})
    cloudsim.control("deny", {"actions": ["DescribeStreamLiveChannels"]})
    with pytest.raises(CloudAuthError) as exc:
        gw.live_channel_list()
    assert exc.value.code == "AuthFailure.UnauthorizedOperation"


def test_every_answer_is_http_200_with_the_exact_content_type_and_a_fresh_request_id(cloudsim):
    cloudsim.load({})
    seen = set()
    for _ in range(3):
        response = requests.post(
            cloudsim.url + "/", data=b"{}", headers={"X-TC-Action": "X"}, timeout=5
        )
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()["Response"]
        assert body["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
        seen.add(body["RequestId"])
    assert len(seen) == 3


def test_control_api_rejects_unknown_verbs_and_inputs(cloudsim):
    cloudsim.load({})
    for verb, body in (("nonsense", {}), ("signal", {"input_id": "X", "present": False})):
        response = requests.post(f"{cloudsim.url}/_sim/{verb}", json=body, timeout=5)
        assert response.status_code == 400


# --- scenarios ------------------------------------------------------------------------------
def test_a_pasted_real_response_loads_as_is(cloudsim, gw):
    """The incident's channel (seed 000) pasted without its inputs: they are synthesised."""
    incident_inputs = ["69425CAF0000BBDE05D7", "696DBEAA525C101CD983", "696DC83753681085A29E"]
    pasted = {
        "Id": "69425B9E0000AAAA1111",
        "State": "RUNNING",
        "Name": "cj_onstyle",
        "AttachedInputs": [
            {"Id": i, "FailOverSettings": dict(EMPTY_FAILOVER)} for i in incident_inputs
        ],
        "OutputGroups": [{"Name": "hls", "Type": "HLS", "Outputs": [], "Destinations": []}],
    }
    cloudsim.load({"mdl": {"channels": [pasted]}})
    info = raw_call(gw, "mdl", "DescribeStreamLiveChannel", {"Id": pasted["Id"]})["Info"]
    assert info == pasted
    channel = gw.live_channel_get(channel_id=pasted["Id"])
    assert channel.input_ids == tuple(incident_inputs)
    assert all(a.failover is not None and a.failover.is_empty for a in channel.attached_inputs)
    inputs = {i.id: i for i in gw.live_input_list()}
    assert all(inputs[i].attached_channel_ids == (pasted["Id"],) for i in incident_inputs)


def test_the_demo_scenario_has_the_documented_cases(cloudsim, gw):
    cloudsim.load(demo_scenario())
    channels = {c.name: c for c in gw.live_channel_list()}
    assert len(channels) == 12
    for name in ("channel-news-001", "cj_onstyle"):
        assert all(a.failover and a.failover.is_empty for a in channels[name].attached_inputs)
    assert channels["cj_onstyle"].input_ids == (
        "69425CAF0000BBDE05D7",
        "696DBEAA525C101CD983",
        "696DC83753681085A29E",
    )
    kbo = channels["channel-kbo-001"].attached_inputs[0].failover
    assert (kbo.secondary_input_id, kbo.loss_threshold_ms, kbo.recover_behavior) == (
        channels["channel-kbo-001"].input_ids[1],
        3000,
        "CURRENT_PREFERRED",
    )
    assert all(a.failover is None for a in channels["channel-kbo-002"].attached_inputs)
    assert sum(c.state == "RUNNING" for c in channels.values()) == 6
