"""The audit trail moved from inventory to actions without losing a row (issue 12)."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

# The schema just before the move: inventory owned OperatorAction, actions did not exist.
BEFORE = [("inventory", "0001_inventory"), ("failover", "0001_initial"), ("actions", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    nodes = [t for t in targets if t[1] is not None]  # (app, None): that app unapplied
    return MigrationExecutor(connection).loader.project_state(nodes).apps


def test_moving_the_audit_trail_keeps_its_rows_links_and_constraint():
    content_type = ContentType.objects.get(app_label="actions", model="operatoraction").pk
    try:
        old = _migrate(BEFORE)
        assert ContentType.objects.get(pk=content_type).app_label == "inventory"
        Action = old.get_model("inventory", "OperatorAction")
        done = Action.objects.create(
            actor_name="operator",
            action="channel.start",
            target_type="channel",
            target_id="C1",
            target_name="channel-one",
            status="succeeded",
            progress=[{"at": "2026-01-01T00:00:00+00:00", "step": "start requested"}],
            request_ids=["a1b2"],
            outcome="start requested",
        )
        stuck = Action.objects.create(
            actor_name="operator", action="channel.restart", target_type="channel", target_id="C2"
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            Action.objects.create(actor_name="x", action="x", target_type="channel", target_id="C2")
        channel = old.get_model("inventory", "LiveChannel").objects.create(
            cloud_id="C1", name="channel-one", state="RUNNING"
        )
        fix = old.get_model("failover", "FailoverFix").objects.create(
            channel=channel,
            action=done,
            primary_input_id="I1",
            expected={},
            expected_fingerprint="f",
            status="verified",
            applied_at="2026-01-01T00:00:00Z",
            deadline="2026-01-01T00:30:00Z",
        )
    finally:
        new = _migrate(None)

    Action = new.get_model("actions", "OperatorAction")
    assert Action._meta.db_table == "inventory_operatoraction"
    kept = Action.objects.get(pk=done.pk)
    assert (kept.actor_name, kept.action, kept.status, kept.outcome) == (
        "operator",
        "channel.start",
        "succeeded",
        "start requested",
    )
    assert kept.request_ids == ["a1b2"] and kept.progress[0]["step"] == "start requested"
    assert (kept.origin, kept.attempts, kept.lease_expires_at) == ("", 0, None)
    # A row left "running" by a worker nobody could follow no longer blocks its channel.
    ended = Action.objects.get(pk=stuck.pk)
    assert ended.status == "failed" and ended.outcome_code == "abandoned" and ended.finished_at
    assert new.get_model("failover", "FailoverFix").objects.get(pk=fix.pk).action_id == done.pk
    # The same content type (and so the permissions given to the roles) moved with the model.
    assert ContentType.objects.get(pk=content_type).app_label == "actions"
    # One running action per resource, still enforced by the database.
    from broadcastops.actions.models import OperatorAction

    OperatorAction.objects.create(
        actor_name="a", action="channel.stop", target_type="channel", target_id="C2"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OperatorAction.objects.create(
            actor_name="b", action="channel.start", target_type="channel", target_id="C2"
        )
    assert OperatorAction.objects.count() == 3
