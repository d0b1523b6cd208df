"""Participant replication through the gateway: publish-state gating, replicas, the quota."""

import pytest
import requests

from broadcastops.cloud.errors import (
    CloudNotFound,
    CloudQuotaExceeded,
    CloudStateError,
    NotPublishingError,
)
from broadcastops.cloud.tests.ivs_support import broadcaster, join, settings_gateway, stage_arn


@pytest.fixture
def ivs(cloudsim, settings, monkeypatch):
    yield from settings_gateway(settings, monkeypatch)


@pytest.fixture
def show(ivs, cloudsim):
    """A master stage with a joined (not yet publishing) broadcaster and one overflow stage."""
    master = ivs.stage_create(name="show-master")
    overflow = ivs.stage_create(name="show-overflow-1")
    participant_id, session_id = broadcaster(cloudsim, ivs, master.arn, publish=False)
    return master, overflow, participant_id, session_id


@pytest.mark.parametrize("error_type", ["ConflictException", "ValidationException"])
def test_not_publishing_refusal_then_success_after_publish(ivs, cloudsim, show, error_type):
    master, overflow, participant_id, _ = show
    cloudsim.control("ivs/config", {"not_publishing_error": error_type})
    where = {
        "source_stage_arn": master.arn,
        "destination_stage_arn": overflow.arn,
        "participant_id": participant_id,
    }

    with pytest.raises(NotPublishingError) as caught:
        ivs.replication_start(**where)
    assert caught.value.message == f"{participant_id} is not publishing"
    assert caught.value.code == error_type
    assert caught.value.request_id

    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": True})
    ivs.replication_start(**where, reconnect_window_s=30, attributes={"replica": "true"})

    (request,) = [
        r
        for r in cloudsim.requests(service="ivs", action="StartParticipantReplication")
        if "attributes" in r["params"]
    ]
    assert request["params"]["reconnectWindowSeconds"] == 30


def test_token_only_and_unknown_participants_are_not_publishing(ivs, cloudsim, show):
    master, overflow, _, _ = show
    unused = ivs.participant_token_create(stage_arn=master.arn, user_id="never-joined")

    for participant_id in (unused.participant_id, "5hFsPVjAYDnT"):
        with pytest.raises(NotPublishingError, match=f"{participant_id} is not publishing"):
            ivs.replication_start(
                source_stage_arn=master.arn,
                destination_stage_arn=overflow.arn,
                participant_id=participant_id,
            )


def test_replica_shows_in_destination_and_source_shows_source(ivs, cloudsim, show):
    master, overflow, participant_id, session_id = show
    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": True})

    ivs.replication_start(
        source_stage_arn=master.arn,
        destination_stage_arn=overflow.arn,
        participant_id=participant_id,
        attributes={"replica": "true"},
    )

    destination_session = ivs.stage_get(stage_arn=overflow.arn).active_session_id
    assert destination_session  # the replica joining opened a session there
    (replica,) = ivs.participant_list(stage_arn=overflow.arn, session_id=destination_session)
    assert replica.participant_id == participant_id
    assert replica.is_replica and replica.connected and replica.published
    assert replica.replication_state == "ACTIVE"
    assert replica.source_stage_arn == master.arn
    assert replica.source_session_id == session_id
    detail = ivs.participant_get(
        stage_arn=overflow.arn, session_id=destination_session, participant_id=participant_id
    )
    assert detail.attributes == {"replica": "true"}
    (source,) = ivs.participant_list(stage_arn=master.arn, session_id=session_id)
    assert source.replication_type == "SOURCE"
    (started,) = [
        e
        for e in ivs.participant_events_list(
            stage_arn=master.arn, session_id=session_id, participant_id=participant_id
        )
        if e.name == "REPLICATION_STARTED"
    ]
    assert started.destination_stage_arn == overflow.arn
    assert started.destination_session_id == destination_session
    (listed,) = ivs.replica_list(source_stage_arn=master.arn, participant_id=participant_id)
    assert listed.active
    assert listed.destination_session_id == destination_session


def test_replication_stop_removes_the_replica_and_keeps_history(ivs, cloudsim, show):
    master, overflow, participant_id, _ = show
    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": True})
    where = {
        "source_stage_arn": master.arn,
        "destination_stage_arn": overflow.arn,
        "participant_id": participant_id,
    }
    ivs.replication_start(**where)
    destination_session = ivs.stage_get(stage_arn=overflow.arn).active_session_id

    ivs.replication_stop(**where)

    (replica,) = ivs.participant_list(stage_arn=overflow.arn, session_id=destination_session)
    assert replica.state == "DISCONNECTED" and replica.replication_state == "STOPPED"
    assert ivs.stage_get(stage_arn=overflow.arn).active_session_id == ""
    (listed,) = ivs.replica_list(source_stage_arn=master.arn, participant_id=participant_id)
    assert listed.replication_state == "STOPPED"
    with pytest.raises(CloudNotFound):
        ivs.replication_stop(**where)


def test_sixth_concurrent_replica_exceeds_the_quota(ivs, cloudsim):
    master = stage_arn("showMaster01")
    destinations = [stage_arn(f"overflow{n:04d}") for n in range(6)]
    cloudsim.load({"ivs": {"stages": [{"arn": arn} for arn in [master, *destinations]]}})
    participant_id = join(cloudsim, master, user_id="broadcaster", publish=True)["participantId"]

    for destination in destinations[:5]:
        ivs.replication_start(
            source_stage_arn=master,
            destination_stage_arn=destination,
            participant_id=participant_id,
        )
    with pytest.raises(CloudQuotaExceeded) as caught:
        ivs.replication_start(
            source_stage_arn=master,
            destination_stage_arn=destinations[5],
            participant_id=participant_id,
        )

    assert caught.value.code == "ServiceQuotaExceededException"
    assert participant_id in caught.value.message
    replicas = ivs.replica_list(source_stage_arn=master, participant_id=participant_id, page_size=2)
    assert len(replicas) == 5 and all(r.active for r in replicas)
    assert {r.destination_stage_arn for r in replicas} == set(destinations[:5])
    assert len(cloudsim.requests(service="ivs", action="ListParticipantReplicas")) == 3


def test_duplicate_replication_is_a_conflict_not_a_refusal(ivs, cloudsim, show):
    master, overflow, participant_id, _ = show
    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": True})
    where = {
        "source_stage_arn": master.arn,
        "destination_stage_arn": overflow.arn,
        "participant_id": participant_id,
    }
    ivs.replication_start(**where)

    with pytest.raises(CloudStateError) as caught:
        ivs.replication_start(**where)

    assert not isinstance(caught.value, NotPublishingError)
    assert caught.value.code == "ConflictException"


def test_source_that_stops_publishing_ends_its_replicas_at_once_without_a_window(
    ivs, cloudsim, show
):
    master, overflow, participant_id, _ = show
    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": True})
    ivs.replication_start(
        source_stage_arn=master.arn,
        destination_stage_arn=overflow.arn,
        participant_id=participant_id,
    )

    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": False})

    (replica,) = ivs.replica_list(source_stage_arn=master.arn, participant_id=participant_id)
    assert replica.replication_state == "STOPPED"
    assert ivs.stage_get(stage_arn=overflow.arn).active_session_id == ""


def test_reconnect_window_keeps_the_replica_then_expires(ivs, cloudsim, show):
    master, overflow, participant_id, _ = show
    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": True})
    ivs.replication_start(
        source_stage_arn=master.arn,
        destination_stage_arn=overflow.arn,
        participant_id=participant_id,
        reconnect_window_s=1,
    )

    # Back within the window: the replication carries on.
    cloudsim.control("ivs/leave", {"participant_id": participant_id})
    cloudsim.control("ivs/clock", {"advance_s": 0.5})
    cloudsim.control("ivs/join", {"participant_id": participant_id, "publish": True})
    cloudsim.control("ivs/clock", {"advance_s": 1.1})
    (replica,) = ivs.replica_list(source_stage_arn=master.arn, participant_id=participant_id)
    assert replica.active

    # Away for longer than the window: it ends (the simulated clock, no sleeping).
    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": False})
    (replica,) = ivs.replica_list(source_stage_arn=master.arn, participant_id=participant_id)
    assert replica.active
    cloudsim.control("clock", {"advance_s": 1.1})  # the whole cloud's clock moves IVS's too
    (replica,) = ivs.replica_list(source_stage_arn=master.arn, participant_id=participant_id)
    assert replica.replication_state == "STOPPED"
    with pytest.raises(requests.HTTPError):
        cloudsim.control("ivs/clock", {"advance_s": -1})


def test_deleting_the_destination_ends_the_replication(ivs, cloudsim, show):
    master, overflow, participant_id, session_id = show
    cloudsim.control("ivs/publish", {"participant_id": participant_id, "publishing": True})
    ivs.replication_start(
        source_stage_arn=master.arn,
        destination_stage_arn=overflow.arn,
        participant_id=participant_id,
    )

    ivs.stage_delete(stage_arn=overflow.arn)

    (replica,) = ivs.replica_list(source_stage_arn=master.arn, participant_id=participant_id)
    assert replica.replication_state == "STOPPED"
    names = [
        e.name
        for e in ivs.participant_events_list(
            stage_arn=master.arn, session_id=session_id, participant_id=participant_id
        )
    ]
    assert names[-2:] == ["REPLICATION_STARTED", "REPLICATION_STOPPED"]
    assert ivs.participant_is_publishing(
        stage_arn=master.arn, session_id=session_id, participant_id=participant_id
    )
