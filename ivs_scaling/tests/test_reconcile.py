"""The reconcile: the database against IVS's lists, each kind of drift found and fixed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops.actions.models import OperatorAction
from broadcastops.actions.types import Actor
from broadcastops.cloud.ivs import CREATE_ID_TAG
from ivs_scaling.models import Publisher, Seat, Stage
from ivs_scaling.services import seats, stages
from ivs_scaling.services.reconcile import show_reconcile_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(show_kit):
    """A publishing broadcaster and one replicated secondary (3 viewers on the master)."""
    show_kit.broadcaster_joins()
    show_kit.watch()
    taken = [seats.seat_take(show=show_kit.refresh(), user_id=f"v{i}") for i in range(3)]
    show_kit.run_actions()
    show_kit.secondary = Stage.objects.get(role="secondary")
    show_kit.taken = taken
    assert show_kit.active_replicas() == {show_kit.secondary.arn}
    return show_kit


def test_nothing_to_fix_changes_nothing(live):
    report = show_reconcile_all()
    assert report.shows == 1 and not report.actions and not report.gone and not report.errors


def test_a_stage_deleted_outside_the_console_is_marked_deleted(live):
    live.gateway.stage_delete(stage_arn=live.secondary.arn)
    report = show_reconcile_all()
    assert report.gone == [live.secondary.arn]
    live.secondary.refresh_from_db()
    assert live.secondary.state == "deleted"
    assert live.show.events.get(kind="drift_stage_gone").level == "warning"


def test_a_lost_master_is_created_again_and_the_broadcaster_forgotten(live):
    master = live.master
    live.gateway.stage_delete(stage_arn=master.arn)
    report = show_reconcile_all()
    assert master.arn in report.gone
    assert not Publisher.objects.exists() and not Seat.objects.filter(stage=master).exists()
    live.run_actions()
    assert live.master.arn and live.master.arn != master.arn
    assert live.show.events.filter(kind="master_recreated", level="error").exists()


def test_a_crash_between_create_stage_and_saving_it_is_adopted(live):
    from django.db import transaction

    with transaction.atomic():
        row = stages.stage_row_new(show=live.show, role="secondary")
    # The worker sent CreateStage and died; its action was given up.
    live.gateway.stage_create(name=row.name, create_id=row.create_id)
    report = show_reconcile_all()
    row.refresh_from_db()
    assert report.adopted == [row.arn] and row.state == "active"
    assert live.show.events.get(kind="drift_adopted").stage_id == row.pk
    live.run_actions()  # the replication the adoption begins
    assert row.arn in live.active_replicas()


def test_a_stage_created_twice_loses_its_double(live):
    secondary = live.secondary
    double = live.gateway.stage_create(name=secondary.name, create_id=secondary.create_id)
    report = show_reconcile_all()
    assert report.orphans == [double.arn]
    live.run_actions()
    cloud = {s.arn: s for s in live.gateway.stage_list()}
    assert double.arn not in cloud and secondary.arn in cloud
    tagged = [s for s in cloud.values() if s.tags.get(CREATE_ID_TAG) == secondary.create_id]
    assert len(tagged) == 1
    assert live.show.events.get(kind="drift_orphan_deleted").level == "warning"


def test_another_installations_stage_is_left_alone(live):
    foreign = live.gateway.stage_create(name="theirs", create_id="f" * 32)
    report = show_reconcile_all()
    assert not report.orphans
    assert foreign.arn in {s.arn for s in live.gateway.stage_list()}


def test_a_stale_creating_stage_is_created_again_without_a_double(live, settings):
    from django.db import transaction

    with transaction.atomic():
        row = stages.stage_row_new(show=live.show, role="secondary")
    Stage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    report = show_reconcile_all()
    assert report.recreated == [row.name]
    live.run_actions()
    row.refresh_from_db()
    assert row.state == "active"


def test_replication_ended_while_the_watch_looked_away_is_restarted(live):
    # The broadcaster drops and comes back between two watch ticks, after the window ran out.
    live.publish(False)
    live.sim.control("ivs/clock", {"advance_s": 11})
    live.publish(True)
    assert live.active_replicas() == set()
    report = show_reconcile_all()
    assert report.replications_ended == [live.secondary.name]
    live.run_actions()
    assert live.active_replicas() == {live.secondary.arn}
    live.secondary.refresh_from_db()
    assert live.secondary.replication_state == "active"


def test_replication_ended_while_the_broadcaster_is_away_waits_for_it(live):
    live.publish(False)
    live.watch()
    live.sim.control("ivs/clock", {"advance_s": 11})
    report = show_reconcile_all()
    assert report.replications_ended == [live.secondary.name] and not report.actions
    live.secondary.refresh_from_db()
    assert live.secondary.replication_state == "pending"
    live.publish(True)
    live.watch()
    live.run_actions()
    assert live.active_replicas() == {live.secondary.arn}


def test_a_replica_left_on_a_deleted_stage_is_stopped(live):
    Stage.objects.filter(pk=live.secondary.pk).update(state="deleted")
    report = show_reconcile_all()
    assert report.replicas_stopped == [live.secondary.arn]
    live.run_actions()
    assert live.active_replicas() == set()


def test_a_replication_the_database_missed_is_recorded(live):
    Stage.objects.filter(pk=live.secondary.pk).update(replication_state="pending")
    report = show_reconcile_all()
    assert report.replications_found == [live.secondary.name]
    live.secondary.refresh_from_db()
    assert live.secondary.replication_state == "active"


def test_seats_follow_what_ivs_sees(live, settings):
    first, second, third = live.taken
    participant = {s.key: Seat.objects.get(key=s.key).participant_id for s in live.taken}
    # Only the decision ran (no token): give the seats the participants a token would have.
    for taken in live.taken:
        token = live.gateway.participant_token_create(
            stage_arn=taken.stage_arn, capabilities=("SUBSCRIBE",)
        )
        Seat.objects.filter(key=taken.key).update(participant_id=token.participant_id)
        participant[taken.key] = token.participant_id
    live.sim.control("ivs/join", {"participant_id": participant[first.key]})
    live.sim.control("ivs/join", {"participant_id": participant[second.key]})
    live.sim.control("ivs/leave", {"participant_id": participant[second.key]})
    report = show_reconcile_all()
    assert report.seats_confirmed == 1 and report.seats_freed == 1
    assert set(Seat.objects.values_list("key", flat=True)) == {first.key, third.key}
    # The third never connects: after IVS_SEAT_CONNECT_S its seat goes too.
    Seat.objects.filter(key=third.key).update(expires_at=timezone.now() - timedelta(seconds=1))
    report = show_reconcile_all()
    assert report.seats_freed == 1
    assert list(Seat.objects.values_list("key", flat=True)) == [first.key]
    assert live.master.viewer_count == 1
    assert live.show.events.filter(kind="seats_freed").count() == 2


def test_an_ending_show_is_ended_by_the_reconcile_if_its_action_could_not(live):
    from ivs_scaling.services.shows import show_end

    action = show_end(show=live.show, actor=Actor())
    OperatorAction.objects.filter(pk=action.pk).update(status="failed")  # its worker is gone
    show_reconcile_all()
    live.run_actions()
    show_reconcile_all()
    assert live.refresh().state == "ended"
    assert live.active_replicas() == set()


def test_an_overlapping_reconcile_is_skipped(live):
    from django.core.cache import cache

    from ivs_scaling.services.reconcile import LOCK

    cache.add(LOCK, 1, timeout=60)
    assert show_reconcile_all().shows == 0
