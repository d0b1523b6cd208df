"""Contract: every simulator response fits botocore's own ivs-realtime model.

boto3 silently drops unknown members and never notices a missing required one (fact sheet
§10.2), so parsing alone proves little: each JSON body the simulator sends during a full
session is checked against the model's output shape (required members, no unknown members,
types, lengths, enums, patterns), and each error it raises must be one the operation declares.
"""

import re
from datetime import datetime

import botocore.session
import pytest

from broadcastops.cloud.simulator.ivs import IvsSimulator
from broadcastops.cloud.simulator.wire import IvsApiError
from broadcastops.cloud.tests.ivs_support import broadcaster, settings_gateway


@pytest.fixture
def ivs(cloudsim, settings, monkeypatch):
    yield from settings_gateway(settings, monkeypatch)


@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("ivs-realtime")


def shape_problems(shape, value, path: str) -> list[str]:
    problems = []
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        body_members = {
            name: member
            for name, member in shape.members.items()
            if member.serialization.get("location") is None
        }
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}: required member missing")
        for name, item in value.items():
            if name not in body_members:
                problems.append(f"{path}.{name}: not a member of {shape.name}")
            else:
                problems += shape_problems(body_members[name], item, f"{path}.{name}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            problems.append(f"{path}: {len(value)} items outside {meta}")
        for index, item in enumerate(value):
            problems += shape_problems(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        for key, item in value.items():
            problems += shape_problems(shape.key, key, f"{path}<key>")
            problems += shape_problems(shape.value, item, f"{path}[{key}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {value!r}"]
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            problems.append(f"{path}: length {len(value)} outside {meta}")
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in {shape.enum}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: expected an integer"]
        if not meta.get("min", value) <= value <= meta.get("max", value):
            problems.append(f"{path}: {value} outside {meta}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean")
    elif kind == "timestamp":
        try:
            datetime.fromisoformat(value)
        except (TypeError, ValueError):
            problems.append(f"{path}: {value!r} is not ISO-8601")
    return problems


@pytest.fixture
def recorded(monkeypatch):
    """Every (operation, payload or error type) the simulator produced."""
    seen: list[tuple[str, object]] = []
    original = IvsSimulator.handle

    def spy(self, *, operation, body, headers):
        try:
            status, response_headers, payload = original(
                self, operation=operation, body=body, headers=headers
            )
        except IvsApiError as exc:
            seen.append((operation, exc))
            raise
        seen.append((operation, payload))
        return status, response_headers, payload

    monkeypatch.setattr(IvsSimulator, "handle", spy)
    return seen


def exercise(ivs, cloudsim) -> None:
    """One show: every operation, with and without data, successes and refusals."""
    master = ivs.stage_create(name="show-master", tags={"broadcastops:role": "master"})
    ivs._client.create_stage(
        name="with-tokens",
        participantTokenConfigurations=[
            {"userId": "host", "capabilities": ["PUBLISH", "SUBSCRIBE"], "attributes": {"a": "b"}}
        ],
    )
    overflow = ivs.stage_create(name="overflow")
    ivs.stage_update(stage_arn=overflow.arn, name="overflow-1")
    ivs.stage_list(page_size=2)
    participant_id, session_id = broadcaster(cloudsim, ivs, master.arn, publish=False)
    cloudsim.control("ivs/join", {"stage_arn": master.arn, "user_id": "viewer"})
    with pytest.raises(Exception, match="not publishing"):
        ivs.replication_start(
            source_stage_arn=master.arn,
            destination_stage_arn=overflow.arn,
            participant_id=participant_id,
        )
    cloudsim.control("ivs/publish", {"participant_id": participant_id})
    ivs.replication_start(
        source_stage_arn=master.arn,
        destination_stage_arn=overflow.arn,
        participant_id=participant_id,
        reconnect_window_s=10,
        attributes={"replica": "true"},
    )
    where = {"stage_arn": master.arn, "session_id": session_id, "participant_id": participant_id}
    ivs.participant_list(stage_arn=master.arn, session_id=session_id, page_size=1)
    ivs.participant_get(**where)
    ivs.participant_events_list(**where, page_size=2)
    destination_session = ivs.stage_get(stage_arn=overflow.arn).active_session_id
    ivs.participant_list(stage_arn=overflow.arn, session_id=destination_session)
    ivs.replica_list(source_stage_arn=master.arn, participant_id=participant_id)
    ivs.stage_session_list(stage_arn=master.arn)
    ivs.stage_session_get(stage_arn=master.arn, session_id=session_id)
    ivs.replication_stop(
        source_stage_arn=master.arn,
        destination_stage_arn=overflow.arn,
        participant_id=participant_id,
    )
    ivs.participant_disconnect(stage_arn=master.arn, participant_id=participant_id)
    ivs.stage_session_list(stage_arn=master.arn)
    with pytest.raises(Exception, match="not found"):
        ivs.stage_get(stage_arn=master.arn.replace(master.stage_id, "000000000000"))
    ivs.stage_delete(stage_arn=overflow.arn)


def test_every_simulator_response_fits_the_botocore_model(ivs, cloudsim, recorded, model):
    exercise(ivs, cloudsim)

    operations = {operation for operation, _ in recorded}
    assert operations == {
        "CreateStage",
        "GetStage",
        "ListStages",
        "UpdateStage",
        "DeleteStage",
        "CreateParticipantToken",
        "ListParticipants",
        "GetParticipant",
        "ListParticipantEvents",
        "DisconnectParticipant",
        "StartParticipantReplication",
        "StopParticipantReplication",
        "ListParticipantReplicas",
        "ListStageSessions",
        "GetStageSession",
    }
    problems = []
    for operation, outcome in recorded:
        operation_model = model.operation_model(operation)
        if isinstance(outcome, IvsApiError):
            declared = {shape.name for shape in operation_model.error_shapes}
            if outcome.error_type not in declared:
                problems.append(f"{operation}: undeclared error {outcome.error_type}")
        else:
            problems += shape_problems(operation_model.output_shape, outcome, operation)
    assert problems == []


def test_the_validator_catches_what_boto3_would_let_through(model):
    # The contract check itself must fail on the mistakes boto3 ignores (fact sheet §10.2).
    output = model.operation_model("ListParticipants").output_shape
    short_session = {"participants": [{"sourceSessionId": "st-abc"}]}

    assert shape_problems(output, {}, "r") == ["r.participants: required member missing"]
    assert shape_problems(output, {"participants": [], "extra": 1}, "r") == [
        "r.extra: not a member of ListParticipantsResponse"
    ]
    assert "outside" in shape_problems(output, short_session, "r")[0]
