"""The issue's "done when", on the simulator, through the API the players and the broadcaster
call: the 409 before the broadcaster publishes, the stages the rule implies with replication
started, a stage needed while the broadcaster is away (pending, then started with the others
restarted), secondaries removed after the grace period, every step in the event log."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ivs_scaling.models import Seat, Stage

pytestmark = pytest.mark.django_db


def join(client: APIClient, user: str):
    return client.post("/api/stage/join", {"userId": user}, format="json")


def test_the_whole_show(show_kit, player, operator_client):
    kit = show_kit
    master = kit.master
    assert master.arn in {s.arn for s in kit.gateway.stage_list()}

    # Before the broadcaster publishes: the doors are closed.
    refused = join(player, "early-bird")
    assert refused.status_code == 409
    assert refused.json()["code"] == "host_not_live"
    assert refused.json()["message"] == "The host is not live yet."

    token = operator_client.post(
        "/api/stage/publisher/token", {"userId": "host-1"}, format="json"
    ).json()
    assert token["stageArn"] == master.arn and token["token"].startswith("eyJ")
    info = operator_client.get("/api/stage/replication/publisher-info").json()
    assert info["hasPublisher"] is True
    assert info["publisherInfo"] == {
        "participantId": token["participantId"],
        "stageArn": master.arn,
        "userId": "host-1",
    }
    kit.broadcaster_id = token["participantId"]
    kit.sim.control("ivs/join", {"token": token["token"], "publish": False})
    kit.watch()
    assert join(player, "still-early").json()["code"] == "host_not_live"  # joined, not publishing
    kit.publish(True)
    kit.watch()
    assert kit.refresh().doors_opened_at is not None

    # 3 viewers: the master reaches the threshold (3 of 4): one secondary, replicated.
    seats = [join(player, f"viewer-{i}").json() for i in range(3)]
    assert {s["stageArn"] for s in seats} == {master.arn}
    (creating,) = kit.stages("creating")
    kit.run_actions()
    second = Stage.objects.get(pk=creating.pk)
    assert second.state == "active" and second.replication_state == "active"
    assert kit.active_replicas() == {second.arn}

    # The master fills, then the newest secondary, and at 3 on it the next one comes.
    seats += [join(player, f"viewer-{i}").json() for i in range(3, 7)]
    assert [s["stageArn"] for s in seats[3:]] == [master.arn, second.arn, second.arn, second.arn]
    (third,) = kit.stages("creating")
    kit.run_actions()
    third.refresh_from_db()
    assert kit.active_replicas() == {second.arn, third.arn}

    # The broadcaster drops longer than the reconnect window: IVS ends the replicas.
    kit.publish(False)
    kit.watch()
    kit.sim.control("ivs/clock", {"advance_s": 11})
    assert kit.active_replicas() == set()
    # Viewers keep arriving (on the newest secondary, the older one keeps a seat): a
    # fourth stage is needed; its replication is pending.
    seats += [join(player, f"viewer-{i}").json() for i in range(7, 11)]
    assert [s["stageArn"] for s in seats[7:]] == [third.arn] * 4
    (fourth,) = kit.stages("creating")
    kit.run_actions()
    fourth.refresh_from_db()
    assert fourth.state == "active" and fourth.replication_state == "pending"
    assert "is not publishing" in fourth.replication_note
    assert kit.stages("active")[-1] == fourth  # usable: the next viewer sits there
    assert join(player, "viewer-11").json()["stageArn"] == fourth.arn

    # The broadcaster is back: the pending one starts and the ended ones restart.
    kit.publish(True)
    kit.watch()
    kit.run_actions()
    assert kit.active_replicas() == {second.arn, third.arn, fourth.arn}
    assert set(
        Stage.objects.filter(role="secondary").values_list("replication_state", flat=True)
    ) == {"active"}

    # Every viewer of the secondaries leaves, and two of the master: after the grace period
    # the secondaries are removed (the master's 2 free seats are above the trigger).
    leaving = [s["seat"] for s in seats if s["stageArn"] != master.arn] + [
        Seat.objects.get(user_id=user).key for user in ("viewer-11", "viewer-0", "viewer-1")
    ]
    for seat in leaving:
        assert player.post("/api/stage/leave", {"seat": seat}, format="json").json() == {
            "success": True
        }
    kit.watch()  # within the grace period: nothing happens
    assert len(kit.stages("active")) == 4
    kit.watch(now=timezone.now() + timedelta(seconds=31))
    kit.run_actions()
    assert [s.role for s in kit.stages("active")] == ["master"]
    assert kit.active_replicas() == set()
    live = {s.arn for s in kit.gateway.stage_list()}
    assert live == {master.arn}
    stops = kit.sim.requests("ivs", "StopParticipantReplication")
    assert {r["params"]["destinationStageArn"] for r in stops} == {
        second.arn,
        third.arn,
        fourth.arn,
    }

    kinds = kit.kinds()
    for kind in [
        "show_created",
        "stage_created",
        "publisher_token",
        "publisher_publishing",
        "doors_opened",
        "scale_up",
        "replication_started",
        "publisher_stopped",
        "replication_pending",
        "replication_ended",
        "stage_empty",
        "scale_down",
        "replication_stopped",
        "stage_deleted",
    ]:
        assert kind in kinds, kind
    assert kinds.count("scale_up") == 3 and kinds.count("stage_deleted") == 3

    # And GET /api/stage shows what is left, with counts.
    listed = operator_client.get("/api/stage").json()
    assert listed["totalViewers"] == 2
    assert [(s["role"], s["viewerCount"]) for s in listed["stages"]] == [("master", 2)]
