"""The IVS gateway through boto3 against the simulator: stages, tokens, participants, sessions."""

import re
import time
from datetime import datetime

import pytest

from broadcastops.cloud.errors import CloudNotFound, CloudRateLimited, CloudTransientError
from broadcastops.cloud.ivs import (
    CREATE_ID_TAG,
    MANAGED_TAG,
    Participant,
    Stage,
    StageEndpoints,
)
from broadcastops.cloud.tests.ivs_support import broadcaster, join, settings_gateway, stage_arn


@pytest.fixture
def ivs(cloudsim, settings, monkeypatch):
    yield from settings_gateway(settings, monkeypatch)


STAGE_ARN = re.compile(r"arn:aws:ivs:ap-northeast-2:\d{12}:stage/[a-zA-Z0-9]{12}")
SESSION_ID = re.compile(r"st-[a-zA-Z0-9]{13}")


def test_stage_create_returns_a_tagged_stage_with_real_identifiers(ivs, cloudsim):
    stage = ivs.stage_create(name="show-master", tags={"broadcastops:role": "master"})

    assert isinstance(stage, Stage)
    assert STAGE_ARN.fullmatch(stage.arn)
    assert stage.name == "show-master"
    assert stage.active_session_id == ""  # nobody joined yet
    assert stage.tags["broadcastops:role"] == "master"
    assert stage.tags[MANAGED_TAG] == "true"
    assert re.fullmatch(r"[0-9a-f]{32}", stage.tags[CREATE_ID_TAG])
    assert isinstance(stage.endpoints, StageEndpoints)
    assert stage.endpoints.whip.startswith("https://")
    assert stage.endpoints.events == "wss://global.events.live-video.net"
    (request,) = cloudsim.requests(service="ivs", action="CreateStage")
    assert request["params"]["tags"][CREATE_ID_TAG] == stage.tags[CREATE_ID_TAG]

    # A create id recorded beforehand finds the stage even if the answer had been lost.
    ivs.stage_create(name="overflow-7", create_id="row-42")
    (found,) = [s for s in ivs.stage_list() if s.tags.get(CREATE_ID_TAG) == "row-42"]
    assert found.name == "overflow-7"


def test_stage_get_update_list_and_delete(ivs):
    stage = ivs.stage_create(name="overflow-1")

    assert ivs.stage_get(stage_arn=stage.arn).name == "overflow-1"
    assert ivs.stage_update(stage_arn=stage.arn, name="overflow-renamed").name == "overflow-renamed"
    assert [s.name for s in ivs.stage_list() if s.arn == stage.arn] == ["overflow-renamed"]

    ivs.stage_delete(stage_arn=stage.arn)

    assert stage.arn not in {s.arn for s in ivs.stage_list()}
    with pytest.raises(CloudNotFound) as caught:
        ivs.stage_get(stage_arn=stage.arn)
    assert caught.value.code == "ResourceNotFoundException"
    assert stage.arn in caught.value.message


def test_scenario_stages_load_and_list_over_several_pages(ivs, cloudsim):
    master = {"arn": stage_arn("showMaster01"), "name": "show-master", "tags": {"r": "master"}}
    others = [{"arn": stage_arn(f"stage{n:07d}"), "name": f"s{n}"} for n in range(6)]
    cloudsim.load({"ivs": {"stages": [master, *others]}})

    stages = ivs.stage_list(page_size=3)

    assert [s.name for s in stages] == ["show-master"] + [f"s{n}" for n in range(6)]
    assert stages[0].tags == {"r": "master"}
    # Endpoints are filled in when the scenario leaves them out.
    assert ivs.stage_get(stage_arn=master["arn"]).endpoints.whip.startswith("https://")
    requests = cloudsim.requests(service="ivs", action="ListStages")
    assert len(requests) == 3
    assert "nextToken" not in requests[0]["params"]
    assert requests[1]["params"]["nextToken"] and requests[2]["params"]["nextToken"]


def test_participant_token_create_reserves_an_id_without_joining(ivs, cloudsim):
    stage = ivs.stage_create(name="tokens")

    token = ivs.participant_token_create(
        stage_arn=stage.arn,
        user_id="viewer-1",
        capabilities=("SUBSCRIBE",),
        duration_minutes=60,
        attributes={"role": "viewer"},
    )

    assert re.fullmatch(r"[a-zA-Z0-9]{12}", token.participant_id)
    assert token.token.startswith("eyJhbGciOiJLTVMi")  # a KMS-signed JWT, like the real ones
    assert token.token.count(".") == 2
    assert token.token not in repr(token)  # a bearer secret stays out of logs
    assert token.capabilities == ("SUBSCRIBE",)
    assert token.duration_minutes == 60
    assert token.attributes == {"role": "viewer"}
    assert isinstance(token.expiration_time, datetime)
    # A token is not a participant: the stage still has no session.
    assert ivs.stage_get(stage_arn=stage.arn).active_session_id == ""

    # Capabilities and duration left out take the model's defaults.
    default = ivs._client.create_participant_token(stageArn=stage.arn)["participantToken"]
    assert default["capabilities"] == ["PUBLISH", "SUBSCRIBE"]
    assert default["duration"] == 720


def test_first_join_opens_a_session_and_last_leave_ends_it(ivs, cloudsim):
    stage = ivs.stage_create(name="sessions")
    first = join(cloudsim, stage.arn, user_id="a")
    second = join(cloudsim, stage.arn, user_id="b")
    session_id = ivs.stage_get(stage_arn=stage.arn).active_session_id

    assert SESSION_ID.fullmatch(session_id) and len(session_id) == 16
    assert first["sessionId"] == second["sessionId"] == session_id

    cloudsim.control("ivs/leave", {"participant_id": first["participantId"]})
    assert ivs.stage_get(stage_arn=stage.arn).active_session_id == session_id
    cloudsim.control("ivs/leave", {"participant_id": second["participantId"]})

    assert ivs.stage_get(stage_arn=stage.arn).active_session_id == ""
    (session,) = ivs.stage_session_list(stage_arn=stage.arn)
    assert session.session_id == session_id
    assert not session.active and session.end_time >= session.start_time
    assert ivs.stage_session_get(stage_arn=stage.arn, session_id=session_id) == session

    third = join(cloudsim, stage.arn, user_id="c")
    assert third["sessionId"] != session_id
    sessions = ivs.stage_session_list(stage_arn=stage.arn)
    assert [s.session_id for s in sessions] == [third["sessionId"], session_id]
    assert sessions[0].active


def test_participant_list_keeps_disconnected_and_filters_one_way(ivs, cloudsim):
    stage = ivs.stage_create(name="people")
    publisher, session_id = broadcaster(cloudsim, ivs, stage.arn)
    viewer = join(cloudsim, stage.arn, user_id="viewer-1")["participantId"]
    gone = join(cloudsim, stage.arn, user_id="viewer-2")["participantId"]
    cloudsim.control("ivs/leave", {"participant_id": gone})

    everyone = ivs.participant_list(stage_arn=stage.arn, session_id=session_id)
    connected = ivs.participant_list(stage_arn=stage.arn, session_id=session_id, state="CONNECTED")
    publishers = ivs.participant_list(stage_arn=stage.arn, session_id=session_id, published=True)
    by_user = ivs.participant_list(stage_arn=stage.arn, session_id=session_id, user_id="viewer-1")

    assert all(isinstance(p, Participant) for p in everyone)
    assert {p.participant_id: p.state for p in everyone} == {
        publisher: "CONNECTED",
        viewer: "CONNECTED",
        gone: "DISCONNECTED",
    }
    assert {p.participant_id for p in connected} == {publisher, viewer}
    assert [p.participant_id for p in publishers] == [publisher]
    assert [p.participant_id for p in by_user] == [viewer]
    assert all(p.replication_type == "NONE" for p in everyone)


def test_participant_list_follows_next_token(ivs, cloudsim):
    stage = ivs.stage_create(name="crowd")
    ids = [join(cloudsim, stage.arn, user_id=f"v{n}")["participantId"] for n in range(5)]
    session_id = ivs.stage_get(stage_arn=stage.arn).active_session_id

    listed = ivs.participant_list(stage_arn=stage.arn, session_id=session_id, page_size=2)

    assert [p.participant_id for p in listed] == ids
    assert len(cloudsim.requests(service="ivs", action="ListParticipants")) == 3


def test_participant_get_has_token_attributes(ivs, cloudsim):
    stage = ivs.stage_create(name="detail")
    token = ivs.participant_token_create(
        stage_arn=stage.arn, user_id="host", attributes={"role": "host"}
    )
    session_id = cloudsim.control("ivs/join", {"participant_id": token.participant_id})["sessionId"]

    participant = ivs.participant_get(
        stage_arn=stage.arn, session_id=session_id, participant_id=token.participant_id
    )

    assert participant.user_id == "host"
    assert participant.attributes == {"role": "host"}
    assert participant.connected and not participant.published
    assert isinstance(participant.first_join_time, datetime)


def test_published_means_ever_published_but_is_publishing_reads_the_events(ivs, cloudsim):
    stage = ivs.stage_create(name="publish-state")
    publisher, session_id = broadcaster(cloudsim, ivs, stage.arn)
    where = {"stage_arn": stage.arn, "session_id": session_id, "participant_id": publisher}

    assert ivs.participant_is_publishing(**where) is True
    cloudsim.control("ivs/publish", {"participant_id": publisher, "publishing": False})

    assert ivs.participant_get(**where).published is True  # ever published, per the model
    assert ivs.participant_is_publishing(**where) is False
    names = [e.name for e in ivs.participant_events_list(**where)]
    assert names == ["JOINED", "PUBLISH_STARTED", "PUBLISH_STOPPED"]

    cloudsim.control("ivs/publish", {"participant_id": publisher, "publishing": True})
    assert ivs.participant_is_publishing(**where) is True


def test_is_publishing_is_false_for_a_subscriber_only_token(ivs, cloudsim):
    stage = ivs.stage_create(name="subscriber")
    token = ivs.participant_token_create(stage_arn=stage.arn, capabilities=["SUBSCRIBE"])
    joined = cloudsim.control("ivs/join", {"participant_id": token.participant_id, "publish": True})
    where = {
        "stage_arn": stage.arn,
        "session_id": joined["sessionId"],
        "participant_id": token.participant_id,
    }

    assert joined["publishError"] == "INSUFFICIENT_CAPABILITIES"
    assert ivs.participant_is_publishing(**where) is False
    (error,) = [e for e in ivs.participant_events_list(**where) if e.name == "PUBLISH_ERROR"]
    assert error.error_code == "INSUFFICIENT_CAPABILITIES"


def test_participant_disconnect_leaves_a_disconnected_record(ivs, cloudsim):
    stage = ivs.stage_create(name="kick")
    viewer = join(cloudsim, stage.arn, user_id="troll")["participantId"]
    keeper = join(cloudsim, stage.arn, user_id="fan")["participantId"]
    session_id = ivs.stage_get(stage_arn=stage.arn).active_session_id

    ivs.participant_disconnect(stage_arn=stage.arn, participant_id=viewer, reason="abuse")

    states = {
        p.participant_id: p.state
        for p in ivs.participant_list(stage_arn=stage.arn, session_id=session_id)
    }
    assert states == {viewer: "DISCONNECTED", keeper: "CONNECTED"}
    with pytest.raises(CloudNotFound):
        ivs.participant_disconnect(stage_arn=stage.arn, participant_id=viewer)


def test_stage_delete_disconnects_everyone(ivs, cloudsim):
    stage = ivs.stage_create(name="doomed")
    viewer = join(cloudsim, stage.arn, user_id="v")["participantId"]

    ivs.stage_delete(stage_arn=stage.arn)

    with pytest.raises(ValueError, match="not connected"):
        cloudsim.sim.ivs.control("leave", {"participant_id": viewer, "stage_arn": stage.arn})
    with pytest.raises(CloudNotFound):
        ivs.stage_session_list(stage_arn=stage.arn)


def test_stage_find_by_create_id_after_a_lost_answer(ivs, cloudsim):
    # CreateStage is carried out, then answered with a 500: the caller never saw the ARN.
    cloudsim.control(
        "fault",
        {
            "service": "ivs",
            "action": "CreateStage",
            "error_code": "InternalServerException",
            "after": True,
        },
    )
    with pytest.raises(CloudTransientError):
        ivs.stage_create(name="lost", create_id="c" * 32)
    ivs.stage_create(name="other", create_id="d" * 32)

    (found,) = ivs.stage_find(create_id="c" * 32)
    assert found.name == "lost" and found.tags[CREATE_ID_TAG] == "c" * 32
    assert ivs.stage_find(create_id="e" * 32) == []


def test_a_token_wait_bounded_by_the_caller_is_refused_at_once(ivs, cloudsim):
    stage = ivs.stage_create(name="busy")
    # Others hold the quota's slots for the next few seconds (as a burst of joins would).
    ivs.limiter._reserve(f"ivs:{ivs.region}:CreateParticipantToken", 5.0, 0.0, 10.0)
    started = time.monotonic()
    with pytest.raises(CloudRateLimited) as caught:
        ivs.participant_token_create(stage_arn=stage.arn, max_wait_s=0.1)
    assert time.monotonic() - started < 0.5
    assert caught.value.code == "ClientRateLimited"
    assert not cloudsim.requests(service="ivs", action="CreateParticipantToken")
