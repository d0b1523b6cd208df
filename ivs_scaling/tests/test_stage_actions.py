"""The stage actions against the simulator: CreateStage through throttling, outages and lost
answers without a second stage; a worker taking a create over adopts what it sent; the stage
quota; replication refused for the replica quota; drain; ending a show."""

import contextlib

import pytest

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.types import Actor
from broadcastops.cloud.ivs import CREATE_ID_TAG
from ivs_scaling.models import Seat, Stage
from ivs_scaling.services import seats, shows, stages

pytestmark = pytest.mark.django_db


def tagged(kit, stage):
    return [s for s in kit.gateway.stage_list() if s.tags.get(CREATE_ID_TAG) == stage.create_id]


def secondary_row(kit):
    from django.db import transaction

    with transaction.atomic():
        return stages.stage_row_new(show=kit.show, role="secondary")


def fault(kit, **spec):
    kit.sim.control("fault", {"service": "ivs", "action": "CreateStage", **spec})


def test_throttled_create_is_sent_again_and_makes_one_stage(show_kit):
    stage = secondary_row(show_kit)
    fault(show_kit, error_code="ThrottlingException", count=2)
    stages.stage_create_begin(stage=stage, actor=Actor())
    show_kit.run_actions()
    stage.refresh_from_db()
    assert stage.state == "active" and len(tagged(show_kit, stage)) == 1
    assert len(show_kit.sim.requests("ivs", "CreateStage")) == 4  # master + 2 refused + 1
    action = OperatorAction.objects.get(target_id=stage.create_id)
    assert [p["step"] for p in action.progress][:2] == [
        "CreateStage failed (ThrottlingException); trying again in 0.01 s.",
        "CreateStage failed (ThrottlingException); trying again in 0.02 s.",
    ]


def test_a_failed_create_is_looked_up_before_it_is_sent_again(show_kit):
    stage = secondary_row(show_kit)
    fault(show_kit, error_code="InternalServerException")  # refused: nothing was created
    stages.stage_create_begin(stage=stage, actor=Actor())
    show_kit.run_actions()
    stage.refresh_from_db()
    assert stage.state == "active" and len(tagged(show_kit, stage)) == 1
    assert len(show_kit.sim.requests("ivs", "CreateStage")) == 3  # master, failed, sent again


def test_a_create_whose_answer_was_lost_is_adopted_not_doubled(show_kit):
    stage = secondary_row(show_kit)
    fault(show_kit, error_code="InternalServerException", after=True)  # created, then 500
    stages.stage_create_begin(stage=stage, actor=Actor())
    show_kit.run_actions()
    stage.refresh_from_db()
    (cloud,) = tagged(show_kit, stage)
    assert stage.state == "active" and stage.arn == cloud.arn
    assert len(show_kit.sim.requests("ivs", "CreateStage")) == 2  # master + the lost one


def test_a_worker_taking_a_create_over_adopts_the_stage_it_finds(show_kit, settings):
    stage = secondary_row(show_kit)
    action = stages.stage_create_begin(stage=stage, actor=Actor())
    # The first worker sent CreateStage and died before saving the ARN.
    show_kit.gateway.stage_create(name=stage.name, create_id=stage.create_id)
    OperatorAction.objects.filter(pk=action.pk).update(attempts=1, state={"create_sent": True})
    show_kit.run_actions()
    stage.refresh_from_db()
    assert stage.state == "active" and len(tagged(show_kit, stage)) == 1
    action.refresh_from_db()
    assert action.progress[1]["step"].startswith(f"Found {stage.arn} by its create id")


def test_stage_quota_ends_the_creating_row_with_an_error_event(show_kit):
    show_kit.sim.control("ivs/config", {"max_stages": 1})
    stage = secondary_row(show_kit)
    stages.stage_create_begin(stage=stage, actor=Actor())
    show_kit.run_actions()
    stage.refresh_from_db()
    assert stage.state == "deleted"
    action = OperatorAction.objects.get(target_id=stage.create_id)
    assert action.status == "failed" and action.outcome_code == "cloud_refused"
    event = show_kit.show.events.get(kind="stage_quota")
    assert event.level == "error" and "quota" in event.text


def test_replica_quota_marks_the_replication_failed(show_kit):
    show_kit.broadcaster_joins()
    show_kit.watch()
    show_kit.sim.control("ivs/config", {"max_replications_per_participant": 0})
    stage = secondary_row(show_kit)
    stages.stage_create_begin(stage=stage, actor=Actor())
    show_kit.run_actions()
    stage.refresh_from_db()
    assert stage.state == "active" and stage.replication_state == "failed"
    assert show_kit.show.events.get(kind="replication_failed").level == "error"


def test_drain_keeps_viewers_until_they_leave_then_deletes(show_kit):
    show_kit.broadcaster_joins()
    show_kit.watch()
    taken = [seats.seat_take(show=show_kit.refresh(), user_id=f"v{i}") for i in range(3)]
    show_kit.run_actions()  # the secondary the third viewer called for
    taken += [seats.seat_take(show=show_kit.show, user_id=f"v{i}") for i in range(3, 5)]
    secondary = Stage.objects.get(role="secondary")
    on_it = [t for t in taken if t.stage_id == secondary.pk]
    assert len(on_it) == 1
    stages.stage_drain_begin(stage=secondary, actor=Actor())
    show_kit.run_actions()
    secondary.refresh_from_db()
    assert secondary.state == "draining" and secondary.viewer_count == 1
    # Nobody new sits on a draining stage: the next join is told a stage is coming.
    with pytest.raises(seats.NoRoom):
        seats.seat_take(show=show_kit.show, user_id="late")
    assert Stage.objects.filter(state="creating").count() == 1
    seats.seat_release(key=on_it[0].key)
    show_kit.watch()
    show_kit.run_actions()
    secondary.refresh_from_db()
    assert secondary.state == "deleted"
    assert secondary.arn not in {s.arn for s in show_kit.gateway.stage_list()}


def test_drain_refuses_the_master(show_kit):
    stages.stage_drain_begin(stage=show_kit.master, actor=Actor())
    show_kit.run_actions()
    action = OperatorAction.objects.get(action="ivs_stage.drain")
    assert action.status == "failed" and "cannot be drained" in action.outcome
    assert show_kit.master.state == "active"


def test_ending_a_show_stops_every_replica_and_deletes_every_secondary(show_kit):
    show_kit.broadcaster_joins()
    show_kit.watch()
    for i in range(7):
        with contextlib.suppress(seats.NoRoom):
            seats.seat_take(show=show_kit.refresh(), user_id=f"v{i}")
        show_kit.run_actions()
    assert len(show_kit.active_replicas()) == 2
    action = shows.show_end(show=show_kit.show, actor=Actor())
    show_kit.run_actions()
    action.refresh_from_db()
    assert action.status == "succeeded", action.outcome
    assert show_kit.refresh().state == "ended"
    assert show_kit.active_replicas() == set()
    assert {s.arn for s in show_kit.gateway.stage_list()} == {show_kit.master.arn}
    assert not Seat.objects.filter(stage__role="secondary").exists()
