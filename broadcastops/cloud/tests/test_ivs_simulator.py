"""The IVS simulator on the wire and through its control verbs (no SDK: what curl would see)."""

import json

import pytest
import requests

from broadcastops.cloud.simulator.ivs import IvsSimulator
from broadcastops.cloud.simulator.server import SIM_SECRET_ID, SimOptions, load_scenario
from broadcastops.cloud.tests.ivs_support import settings_gateway, stage_arn


@pytest.fixture
def ivs(cloudsim, settings, monkeypatch):
    yield from settings_gateway(settings, monkeypatch)


def test_auth_errors_have_real_status_type_header_and_exception_message(cloudsim):
    response = requests.post(f"{cloudsim.url}/ListStages", data=b"{}", timeout=5)

    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert response.json() == {"exceptionMessage": "Missing Authentication Token"}

    # IVS real-time signs as "ivs", not "ivs-realtime" (fact sheet §1).
    auth = (
        "AWS4-HMAC-SHA256 Credential=AKIDsimulator0000000000000000000000/20250101/"
        "ap-northeast-2/ivs-realtime/aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=" + "0" * 64
    )

    response = requests.post(
        f"{cloudsim.url}/ListStages", data=b"{}", headers={"Authorization": auth}, timeout=5
    )

    assert response.status_code == 403
    assert "'ivs'" in response.json()["exceptionMessage"]


def test_quota_errors_travel_as_http_402(cloudsim):
    cloudsim.control("options", {"verify_signature": False})
    cloudsim.control("ivs/config", {"max_stages": 0})
    auth = (
        f"AWS4-HMAC-SHA256 Credential={SIM_SECRET_ID}/20250101/ap-northeast-2/ivs/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )

    response = requests.post(
        f"{cloudsim.url}/CreateStage",
        json={"name": "refused"},
        headers={"Authorization": auth},
        timeout=5,
    )

    # 402, not 400 or 429 (fact sheet §3), so botocore does not retry it.
    assert response.status_code == 402
    assert response.headers["x-amzn-ErrorType"] == "ServiceQuotaExceededException"
    assert "quota" in response.json()["exceptionMessage"]


@pytest.mark.parametrize(
    ("operation", "params", "fragment"),
    [
        ("ListStages", {"maxResults": 101}, "less than or equal to 100"),
        ("ListStages", {"nextToken": "bm90LWEtdG9rZW4="}, "nextToken"),
        ("ListParticipantReplicas", {"maxResults": 51}, "less than or equal to 50"),
        ("StartParticipantReplication", {"reconnectWindowSeconds": 301}, "300"),
        ("CreateParticipantToken", {"attributes": {"k": "v" * 1100}}, "1 KB"),
        ("CreateStage", {"participantTokenConfigurations": [{}] * 13}, "12"),
        ("CreateStage", {"tags": {"aws:reserved": "x"}}, "aws:"),
        ("GetStage", {"arn": "not-an-arn"}, "pattern"),
    ],
)
def test_server_side_validation(operation, params, fragment):
    simulator = IvsSimulator({}, SimOptions())
    arn = stage_arn("abcdEFGH1234")
    defaults = {
        "ListParticipantReplicas": {"sourceStageArn": arn, "participantId": "p1"},
        "StartParticipantReplication": {
            "sourceStageArn": arn,
            "destinationStageArn": arn,
            "participantId": "p1",
        },
        "CreateParticipantToken": {"stageArn": arn},
    }.get(operation, {})
    method = simulator._operations()[operation]

    with pytest.raises(Exception) as caught:
        method({**defaults, **params}, region="ap-northeast-2")

    assert caught.value.error_type == "ValidationException"
    assert fragment in caught.value.message


def test_control_verbs_join_publish_leave_over_http(ivs, cloudsim):
    stage = ivs.stage_create(name="curl")
    url = f"{cloudsim.url}/_sim/ivs"

    joined = requests.post(
        f"{url}/join", json={"stage_arn": stage.arn, "user_id": "obs"}, timeout=5
    ).json()
    published = requests.post(
        f"{url}/publish", json={"participant_id": joined["participantId"]}, timeout=5
    ).json()
    left = requests.post(
        f"{url}/leave", json={"participant_id": joined["participantId"]}, timeout=5
    ).json()
    again = requests.post(
        f"{url}/leave", json={"participant_id": joined["participantId"]}, timeout=5
    )

    assert len(joined["participantId"]) == 12 and not joined["publishing"]
    assert published["publishing"] is True
    assert left == {"participantId": joined["participantId"], "state": "DISCONNECTED"}
    assert again.status_code == 400 and "not connected" in again.json()["error"]
    state = requests.post(f"{url}/state", json={}, timeout=5).json()
    (session,) = state["stages"][0]["sessions"]
    assert session["endTime"] and session["participants"][0]["published"] is True


def test_join_with_a_token_string_uses_its_participant_id(ivs, cloudsim):
    stage = ivs.stage_create(name="token-join")
    token = ivs.participant_token_create(stage_arn=stage.arn, user_id="app")

    joined = cloudsim.control("ivs/join", {"token": token.token, "publish": True})

    assert joined["participantId"] == token.participant_id
    assert joined["stageArn"] == stage.arn and joined["publishing"]


def test_thirteenth_publisher_gets_a_publish_error_event(cloudsim):
    arn = stage_arn("busyStage123")
    cloudsim.load({"ivs": {"stages": [{"arn": arn, "name": "busy"}]}})
    results = [cloudsim.control("ivs/join", {"stage_arn": arn, "publish": True}) for _ in range(13)]

    assert [r["publishing"] for r in results] == [True] * 12 + [False]
    assert results[-1]["publishError"] == "QUOTA_EXCEEDED"


def test_same_seed_gives_the_same_identifiers():
    first, second = (IvsSimulator({}, SimOptions(seed=3)) for _ in range(2))
    stages = [
        sim._create_stage({"name": "s"}, region="ap-northeast-2")["stage"]["arn"]
        for sim in (first, second)
    ]

    assert stages[0] == stages[1]
    assert IvsSimulator({}, SimOptions(seed=4)).account_id != first.account_id


def test_scenario_is_validated():
    with pytest.raises(ValueError, match="max_stage"):
        IvsSimulator({"ivs": {"max_stage": 3}}, SimOptions())  # a typo is not ignored
    with pytest.raises(ValueError, match="not_publishing_error"):
        IvsSimulator({"ivs": {"not_publishing_error": "Nope"}}, SimOptions())
    with pytest.raises(ValueError, match="st- \\+ 13"):
        IvsSimulator(
            {"ivs": {"stages": [{"arn": stage_arn("x"), "activeSessionId": "st-short"}]}},
            SimOptions(),
        )
    assert json.dumps(IvsSimulator({}, SimOptions()).control("state", {}))


def test_demo_scenario_has_the_show_master_stage():
    simulator = IvsSimulator(load_scenario(None), SimOptions())

    (master,) = [s for s in simulator.stages.values() if s.name == "show-master"]
    assert master.tags == {"broadcastops:role": "master"}
    assert master.arn.startswith(f"arn:aws:ivs:ap-northeast-2:{simulator.account_id}:stage/")
