import pytest

from broadcastops.inventory.matching import (
    endpoint_key,
    host_port_key,
    join_url,
    match_flows_to_inputs,
    role_from_name,
)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("rtmp://Push.Example.COM:1935/live/abc?txSecret=1", "rtmp://push.example.com/live/abc"),
        ("rtmp://push.example.com/live/abc/", "rtmp://push.example.com/live/abc"),
        ("rtmp://push.example.com:1936/live//abc", "rtmp://push.example.com:1936/live/abc"),
        ("", ""),
    ],
)
def test_endpoint_keys_ignore_what_does_not_change_the_destination(url, key):
    assert endpoint_key(url) == key


def test_stream_live_push_url_is_address_app_and_stream():
    url = join_url("rtmp://1.mdialive.ap-seoul.livepush.myqcloud.com/", "live", "kbo_m")
    assert url == "rtmp://1.mdialive.ap-seoul.livepush.myqcloud.com/live/kbo_m"
    assert host_port_key("RTP", "10.0.0.1", "5000") == "rtp://10.0.0.1:5000"


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("cj_onstyle_m2", "MAIN"),
        ("cj_onstyle_b2", "BACKUP"),
        ("kbo-main", "MAIN"),
        ("KBO Backup", "BACKUP"),
        ("news_primary", "MAIN"),
        ("contribution", "UNKNOWN"),
        ("main-and-backup", "UNKNOWN"),
    ],
)
def test_roles_suggested_by_flow_names(name, role):
    assert role_from_name(name)[0] == role


def test_flows_match_inputs_by_endpoint_and_unmatched_stay_unmatched():
    inputs = {"IN-A": ["rtmp://h/live/a", "rtmp://h2/live/a"], "IN-B": ["rtmp://h/live/b"]}
    flows = {"F-1": ["rtmp://h2/live/a"], "F-2": ["rtmp://h/live/b"], "F-3": ["rtmp://x/y/z"]}
    assert match_flows_to_inputs(flows, inputs) == {"F-1": "IN-A", "F-2": "IN-B", "F-3": None}
