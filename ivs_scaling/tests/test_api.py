"""The API: the existing frontend's shapes, bad input as a 4xx with a message (never a 500,
nothing half-written), the anonymous join's cost and throttle."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from broadcastops.actions.models import OperatorAction
from ivs_scaling.models import Seat, Show, Stage

pytestmark = pytest.mark.django_db

ARN = "arn:aws:ivs:ap-northeast-2:123456789012:stage/AbCdEfGhIjKl"


def error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"code", "message", "detail"} and body["message"]
    if code:
        assert body["code"] == code, body
    return body


def test_show_create_answers_201_and_creates_the_master(ivs, operator_client, cloudsim):
    response = operator_client.post(
        "/api/v1/shows/",
        {"name": "quiz", "capacity": 400, "scaleUpThreshold": 360, "gracePeriodSeconds": 120},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "quiz" and body["capacity"] == 400
    assert body["stages"][0]["role"] == "master" and body["stages"][0]["state"] == "creating"
    assert body["action"]["kind"] == "ivs_stage.create" and body["action"]["origin"] == "api"
    from broadcastops.tests.helpers import actions_run_pending

    actions_run_pending()
    detail = operator_client.get("/api/v1/shows/quiz/").json()
    assert detail["stages"][0]["state"] == "active"
    assert detail["stages"][0]["stageArn"].startswith("arn:aws:ivs:")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bad name!"}, "name"),
        ({"name": "quiz", "capacity": 0}, "capacity"),
        ({"name": "quiz", "capacity": 50, "scaleUpThreshold": 51}, "scaleUpThreshold"),
        ({"name": "quiz", "maxStages": 7}, "maxStages"),
        ({"name": "quiz", "reconnectWindowSeconds": 301}, "reconnectWindowSeconds"),
        ({"capacity": 50}, "name"),
        ({"name": "quiz", "capacity": "many"}, "capacity"),
    ],
)
def test_show_create_refuses_bad_fields_and_writes_nothing(operator_client, body, field):
    answer = error(operator_client.post("/api/v1/shows/", body, format="json"), 400)
    assert field in answer["detail"]
    assert not Show.objects.exists() and not OperatorAction.objects.exists()


def test_a_second_show_of_the_same_name_is_a_409(ivs, operator_client):
    operator_client.post("/api/v1/shows/", {"name": "quiz"}, format="json")
    error(
        operator_client.post("/api/v1/shows/", {"name": "quiz"}, format="json"), 409, "show_exists"
    )
    assert Show.objects.count() == 1 and Stage.objects.count() == 1


def test_viewers_read_but_do_not_act(ivs, viewer_client):
    error(viewer_client.post("/api/v1/shows/", {"name": "quiz"}, format="json"), 403)
    error(viewer_client.post("/api/stage/publisher/token", {"userId": "h"}, format="json"), 403)
    assert viewer_client.get("/api/v1/shows/").status_code == 200


def test_endpoints_without_a_show_say_so(operator_client):
    body = error(operator_client.get("/api/stage/replication/publisher-info"), 404, "not_found")
    assert "No show is on" in body["message"]
    error(operator_client.get("/api/stage?show=nope"), 404)
    error(operator_client.get("/api/stage?show=bad%20name"), 400)


def test_two_shows_need_a_name(ivs, show_kit, operator_client):
    from ivs_scaling.tests.conftest import show_make

    show_make(show_kit.sim, show_kit.gateway, name="other")
    error(operator_client.get("/api/stage"), 400, "show_required")
    assert operator_client.get("/api/stage?show=other").json()["show"] == "other"


def test_publisher_info_without_a_publisher(show_kit, viewer_client):
    assert viewer_client.get("/api/stage/replication/publisher-info").json() == {
        "hasPublisher": False,
        "publisherInfo": None,
    }


def test_publisher_token_before_the_master_exists_is_a_409(ivs, operator_client, db):
    operator_client.post("/api/v1/shows/", {"name": "quiz"}, format="json")
    body = error(
        operator_client.post("/api/stage/publisher/token", {"userId": "host"}, format="json"),
        409,
        "stage_pending",
    )
    assert "still being created" in body["message"]


# --- the manual calls -------------------------------------------------------------------------
def test_manual_create_then_replication_not_publishing_then_started(show_kit, operator_client):
    created = operator_client.post("/api/stage", {"name": "stage-2"}, format="json")
    assert created.status_code == 201, created.content
    stage = created.json()["stage"]
    assert created.json()["success"] is True and stage["name"] == "stage-2"
    assert stage["stageArn"] in {s.arn for s in show_kit.gateway.stage_list()}
    show_kit.run_actions()  # its replication: no broadcaster yet -> pending
    participant = show_kit.broadcaster_joins(publish=False)
    where = {
        "sourceStageArn": show_kit.master.arn,
        "destinationStageArn": stage["stageArn"],
        "participantId": participant,
    }

    refused = operator_client.post("/api/stage/replication/start", where, format="json")
    assert refused.status_code == 409
    assert refused.json()["success"] is False
    assert refused.json()["message"] == f"{participant} is not publishing"
    assert refused.json()["code"] == "not_publishing"

    show_kit.publish(True)
    started = operator_client.post("/api/stage/replication/start", where, format="json")
    assert started.status_code == 200, started.content
    assert started.json()["success"] is True and started.json()["message"]
    assert show_kit.active_replicas() == {stage["stageArn"]}
    again = operator_client.post("/api/stage/replication/start", where, format="json")
    assert again.json()["success"] is True  # already running: still a success, no 2nd start
    assert len(show_kit.sim.requests("ivs", "StartParticipantReplication")) == 2

    stopped = operator_client.post("/api/stage/replication/stop", where, format="json")
    assert stopped.json()["success"] is True
    assert show_kit.active_replicas() == set()
    kinds = list(
        OperatorAction.objects.filter(target_id=Stage.objects.get(name="stage-2").create_id)
        .order_by("pk")
        .values_list("action", "status")
    )
    assert kinds == [
        ("ivs_stage.create", "succeeded"),
        ("ivs_stage.replication_start", "failed"),
        ("ivs_stage.replication_start", "succeeded"),
        ("ivs_stage.replication_start", "succeeded"),
        ("ivs_stage.replication_stop", "succeeded"),
    ]


@pytest.mark.parametrize(
    ("patch", "status", "field"),
    [
        ({"destinationStageArn": "not-an-arn"}, 400, "destinationStageArn"),
        ({"sourceStageArn": "arn:aws:ivs:x:1:channel/abc"}, 400, "sourceStageArn"),
        ({"destinationStageArn": ARN}, 404, "destinationStageArn"),
        ({"sourceStageArn": ARN}, 404, "sourceStageArn"),
        ({"participantId": "has space"}, 400, "participantId"),
        ({"participantId": "x" * 65}, 400, "participantId"),
    ],
)
def test_replication_start_refuses_bad_input(show_kit, operator_client, patch, status, field):
    secondary = operator_client.post("/api/stage", {}, format="json").json()["stage"]
    body = {
        "sourceStageArn": show_kit.master.arn,
        "destinationStageArn": secondary["stageArn"],
        "participantId": "p1AbCdEfGhIj",
        **patch,
    }
    answer = error(
        operator_client.post("/api/stage/replication/start", body, format="json"), status
    )
    assert field in answer["detail"] or field in answer["message"]
    assert not show_kit.sim.requests("ivs", "StartParticipantReplication")


def test_replication_into_the_master_or_from_a_secondary_is_refused(show_kit, operator_client):
    secondary = operator_client.post("/api/stage", {}, format="json").json()["stage"]
    master = show_kit.master.arn
    for source, destination in ((master, master), (secondary["stageArn"], secondary["stageArn"])):
        body = {"sourceStageArn": source, "destinationStageArn": destination, "participantId": "p"}
        error(operator_client.post("/api/stage/replication/start", body, format="json"), 400)


def test_replicating_a_participant_who_is_not_there_is_refused_in_korean(show_kit, operator_client):
    """The broadcaster publishes, but the id given is nobody on the master: a 4xx saying
    so, in the caller's language, and no replica."""
    show_kit.broadcaster_joins()
    secondary = operator_client.post("/api/stage", {}, format="json").json()["stage"]
    show_kit.run_actions()
    body = {
        "sourceStageArn": show_kit.master.arn,
        "destinationStageArn": secondary["stageArn"],
        "participantId": "pNoSuchOne12",
    }
    answer = operator_client.post(
        "/api/stage/replication/start", body, format="json", headers={"accept-language": "ko"}
    )
    assert 400 <= answer.status_code < 500, answer.content
    assert answer.json()["success"] is False and answer.json()["message"]
    assert answer.json()["code"] and "detail" in answer.json()
    assert show_kit.active_replicas() == {secondary["stageArn"]}  # the broadcaster's only
    bad = operator_client.post(
        "/api/stage/join", {"userId": "a\nb"}, format="json", headers={"accept-language": "ko"}
    )
    assert bad.status_code == 400
    assert bad.json()["detail"]["userId"] == ["userId는 표시할 수 있는 문자여야 합니다."]


def test_replication_start_without_a_body_is_a_400(operator_client):
    body = error(operator_client.post("/api/stage/replication/start", {}, format="json"), 400)
    assert set(body["detail"]) == {"sourceStageArn", "destinationStageArn", "participantId"}


# --- viewers ---------------------------------------------------------------------------------
def test_an_anonymous_join_with_a_bad_body_costs_no_query_and_says_why():
    client = APIClient()
    for body in ({}, {"userId": ""}, {"userId": "x" * 129}, {"userId": "a\nb"}):
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/api/stage/join", body, format="json")
        assert error(response, 400)["detail"].get("userId"), body
        assert len(queries) == 0
    with CaptureQueriesContext(connection) as queries:
        error(client.post("/api/stage/leave", {"seat": "nope"}, format="json"), 400)
    assert len(queries) == 0


def test_leave_of_an_unknown_seat_is_a_404(show_kit):
    error(APIClient().post("/api/stage/leave", {"seat": "0" * 32}, format="json"), 404)


def test_join_is_throttled_per_address(show_kit, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "ivs_join": "2/min",
        },
    }
    client = APIClient()
    answers = [client.post("/api/stage/join", {"userId": f"v{i}"}, format="json") for i in range(3)]
    assert [a.status_code for a in answers] == [409, 409, 429]  # the doors are closed, then 429
    other = APIClient(REMOTE_ADDR="10.0.0.9")
    assert other.post("/api/stage/join", {"userId": "v9"}, format="json").status_code == 409


def test_a_join_whose_token_fails_frees_its_seat(show_kit):
    show_kit.broadcaster_joins()
    show_kit.watch()
    show_kit.sim.control(
        "fault",
        {
            "service": "ivs",
            "action": "CreateParticipantToken",
            "error_code": "InternalServerException",
            "count": 5,
        },
    )
    body = error(APIClient().post("/api/stage/join", {"userId": "v"}, format="json"), 503)
    assert body["code"] == "token_unavailable"
    assert not Seat.objects.exists()
    assert show_kit.master.viewer_count == 0


def test_stage_pending_answers_503_with_retry_after(show_kit):
    show_kit.broadcaster_joins()
    show_kit.watch()
    client = APIClient()
    for i in range(4):
        assert client.post("/api/stage/join", {"userId": f"v{i}"}, format="json").status_code == 200
    response = client.post("/api/stage/join", {"userId": "v5"}, format="json")
    error(response, 503, "stage_pending")
    assert response["Retry-After"] == "1"
