"""TC3-HMAC-SHA256: the fact sheet's test vector, the SDK's signer, and the simulator's checks."""

import hashlib
import time
import types

import pytest
import requests
from tencentcloud.common import abstract_client
from tencentcloud.common.sign import Sign

from broadcastops.cloud.errors import CloudAuthError
from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SIM_SECRET_KEY
from broadcastops.cloud.simulator.tencent import tc3_signature
from broadcastops.cloud.tests.tencent_support import gateway_for

VECTOR = {
    "secret_key": "secretkey",
    "service": "mdl",
    "timestamp": 1700000000,
    "host": "127.0.0.1:8000",
    "content_type": "application/json",
    "body": b'{"Id": "X"}',
}
VECTOR_SIGNATURE = "c9e5710b726d99fca79c2667b5abaf11e58cb829f273baa8b2459df98f263bb2"


def test_the_fact_sheet_vector():
    assert hashlib.sha256(VECTOR["body"]).hexdigest() == (
        "036e280f7472e4e6643f026725daaead3774970877c6d604b5f3b96d15c9515f"
    )
    params = {k: v for k, v in VECTOR.items() if k != "secret_key"}
    assert tc3_signature(VECTOR["secret_key"], **params) == VECTOR_SIGNATURE
    assert tc3_signature("other", **params) != VECTOR_SIGNATURE


def test_the_sdk_signer_agrees_with_the_vector():
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "content-type:application/json\nhost:127.0.0.1:8000\n",
            "content-type;host",
            hashlib.sha256(b'{"Id": "X"}').hexdigest(),
        ]
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    assert digest == "fbefed1ada400628a1a521f01684ae597f3b67a93bfecb9257227549da268cc3"
    string_to_sign = f"TC3-HMAC-SHA256\n1700000000\n2023-11-14/mdl/tc3_request\n{digest}"
    assert Sign.sign_tc3("secretkey", "2023-11-14", "mdl", string_to_sign) == VECTOR_SIGNATURE


def _signed_post(url: str, host: str, *, timestamp: int, signed_host: str = ""):
    body = b"{}"
    signature = tc3_signature(
        SIM_SECRET_KEY,
        service="mdl",
        timestamp=timestamp,
        host=signed_host or host,
        content_type="application/json",
        body=body,
    )
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    headers = {
        "Content-Type": "application/json",
        "Host": host,
        "X-TC-Action": "DescribeStreamLiveChannels",
        "X-TC-Version": "2020-03-26",
        "X-TC-Region": "ap-seoul",
        "X-TC-Timestamp": str(timestamp),
        "Authorization": (
            f"TC3-HMAC-SHA256 Credential={SIM_SECRET_ID}/{date}/mdl/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        ),
    }
    return requests.post(url + "/", data=body, headers=headers, timeout=5).json()["Response"]


def test_the_simulator_accepts_a_signature_over_the_received_host(cloudsim):
    cloudsim.load({})
    response = _signed_post(cloudsim.url, cloudsim.endpoint, timestamp=int(time.time()))
    assert response["Infos"] == []


def test_a_signature_for_another_host_fails(cloudsim):
    cloudsim.load({})
    # Signed for the URL form the SDK would put in Host if the scheme went into `endpoint`.
    response = _signed_post(
        cloudsim.url, cloudsim.endpoint, timestamp=int(time.time()), signed_host=cloudsim.url
    )
    assert response["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_a_timestamp_beyond_five_minutes_expires(cloudsim):
    cloudsim.load({})
    old = _signed_post(cloudsim.url, cloudsim.endpoint, timestamp=int(time.time()) - 301)
    assert old["Error"]["Code"] == "AuthFailure.SignatureExpire"
    recent = _signed_post(cloudsim.url, cloudsim.endpoint, timestamp=int(time.time()) - 200)
    assert "Error" not in recent


def test_wrong_secret_key_is_an_auth_error_with_the_vendor_code(cloudsim):
    cloudsim.load({})
    with pytest.raises(CloudAuthError) as exc:
        gateway_for(cloudsim, secret_key="not-the-key").live_channel_list()
    assert exc.value.code == "AuthFailure.SignatureFailure"
    assert exc.value.vendor == "tencent" and exc.value.request_id
    assert exc.value.action == "DescribeStreamLiveChannels"


def test_unknown_secret_id_is_an_auth_error(cloudsim):
    cloudsim.load({})
    with pytest.raises(CloudAuthError) as exc:
        gateway_for(cloudsim, secret_id="AKIDunknown").live_channel_list()
    assert exc.value.code == "AuthFailure.SecretIdNotFound"


def test_a_client_clock_off_by_minutes_fails_with_signature_expire(cloudsim, monkeypatch):
    cloudsim.load({})
    skewed = types.SimpleNamespace(time=lambda: time.time() - 400)
    monkeypatch.setattr(abstract_client, "time", skewed)  # the SDK stamps X-TC-Timestamp here
    with pytest.raises(CloudAuthError) as exc:
        gateway_for(cloudsim).live_channel_list()
    assert exc.value.code == "AuthFailure.SignatureExpire"


def test_signature_checks_can_be_switched_off(cloudsim):
    cloudsim.load({})
    cloudsim.control("options", {"verify_signature": False})
    assert gateway_for(cloudsim, secret_key="anything").live_channel_list() == []
