"""Audit, plan, apply and verify against the simulator loaded with the incident's response."""

import copy
import json
import time

import pytest
from django.core.management import call_command

from broadcastops import registry
from broadcastops.actions.models import OperatorAction
from broadcastops.actions.types import Actor
from broadcastops.errors import Conflict, ValidationFailed
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.notify.models import Notification
from broadcastops.tests.helpers import actions_run_pending
from failover.models import FailoverAudit, FailoverFix
from failover.selectors import failover_verdict_get
from failover.services import failover_apply, failover_audit_run, failover_plan
from failover.tests.conftest import (
    BACKUP_INPUT,
    CJ,
    EMPTY,
    EVENT_INPUT,
    MAIN_INPUT,
    STOP_START_STEPS,
    describe_raw,
)

pytestmark = pytest.mark.django_db(transaction=True)

FIXED = {
    "SecondaryInputId": BACKUP_INPUT,
    "LossThreshold": 3000,
    "RecoverBehavior": "CURRENT_PREFERRED",
}


def _channel():
    return LiveChannel.objects.get(cloud_id=CJ)


SYSTEM = Actor()


def _fix(**kwargs) -> OperatorAction:
    """Begin the fix, then run what the worker runs; the finished action."""
    begun = failover_apply(channel=_channel(), actor=kwargs.pop("actor", SYSTEM), **kwargs)
    assert begun.status == "running"
    assert actions_run_pending() == [begun.pk]
    return OperatorAction.objects.get(pk=begun.pk)


def _assert_only_primary_failover_changed(before: dict, after: dict) -> None:
    """Every member of the channel, nulls included, is as it was but the primary's settings."""
    expected = copy.deepcopy(before)
    for attached in expected["AttachedInputs"]:
        if attached["Id"] == MAIN_INPUT:
            attached["FailOverSettings"] = FIXED
    assert after == expected


def _backup_emptied_in_console(demo, channel) -> None:
    """The primary's backup emptied in the Tencent console (toggle on, nothing selected)."""
    with demo.sim.lock:
        cloud = demo.sim.tencent._channels[channel.cloud_id]
        config = json.loads(json.dumps(cloud.config))
        config["AttachedInputs"][0]["FailOverSettings"] = dict(EMPTY)
        cloud.config = config


# --- audit ---------------------------------------------------------------------------------


def test_poll_audits_the_incident_and_notifies_once(incident, slack):
    inventory_poll()
    audit = FailoverAudit.objects.get(channel__cloud_id=CJ)
    assert audit.verdict == "ENABLED_WITHOUT_BACKUP"
    assert audit.report["primary_input_id"] == MAIN_INPUT
    assert audit.report["backup_input_id"] == BACKUP_INPUT
    assert audit.report["mapping"]["confidence"] == "high"
    inputs = {i["input_id"]: i for i in audit.report["inputs"]}
    assert inputs[EVENT_INPUT]["role"] == "" and inputs[MAIN_INPUT]["role"] == "MAIN"
    inventory_poll(full=True)
    inventory_poll(full=True)
    sent = Notification.objects.filter(event="failover.unprotected", subject=CJ)
    assert sent.count() == 1
    assert str(sent.get().title_message) == "cj_onstyle has no input failover protection"
    # The inventory knows it too: on air without protection needs attention.
    channel = _channel()
    assert channel.input_protected is False and channel.needs_attention
    status = failover_verdict_get(channel=_channel())
    assert status.verdict == "ENABLED_WITHOUT_BACKUP" and not status.protected


def test_audit_hook_failure_never_breaks_polling(incident, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit bug")

    monkeypatch.setattr("failover.services.auditing.failover_audit_run", broken)
    report = inventory_poll()
    assert not report.skipped and LiveChannel.objects.filter(cloud_id=CJ).exists()


def test_drift_in_the_console_is_notified_once(demo, slack):
    inventory_poll()
    kbo = LiveChannel.objects.get(name="channel-kbo-001")
    assert FailoverAudit.objects.get(channel=kbo).verdict == "OK"
    # Someone empties the backup in the Tencent console, behind the team's back.
    _backup_emptied_in_console(demo, kbo)
    inventory_poll(full=True)
    inventory_poll(full=True)
    audit = FailoverAudit.objects.get(channel=kbo)
    assert audit.verdict == "ENABLED_WITHOUT_BACKUP"
    drift = Notification.objects.filter(event="failover.drift", subject=kbo.cloud_id)
    assert drift.count() == 1
    assert drift.get().severity == "critical"
    assert "outside BroadcastOps" in str(drift.get().title_message)
    # The unprotected alert is not sent on top of the drift alert.
    assert not Notification.objects.filter(event="failover.unprotected", subject=kbo.cloud_id)


def test_demo_verdicts(demo):
    inventory_poll()
    verdicts = {a.channel.name: a.verdict for a in FailoverAudit.objects.select_related("channel")}
    assert verdicts["cj_onstyle"] == "ENABLED_WITHOUT_BACKUP"
    assert verdicts["channel-news-001"] == "ENABLED_WITHOUT_BACKUP"
    assert verdicts["channel-kbo-001"] == "OK"
    assert verdicts["channel-kbo-002"] == "OFF"
    assert verdicts["channel-shopping-001"] == "OK"


def test_the_audit_tells_the_inventory_which_channels_are_protected(demo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    inventory_poll()
    protected = dict(LiveChannel.objects.values_list("name", "input_protected"))
    assert protected["channel-kbo-001"] is True
    assert protected["cj_onstyle"] is False and protected["channel-kbo-002"] is False
    cj = LiveChannel.objects.get(name="cj_onstyle")
    assert cj.input_protection_reason["code"] == "failover.reason.no_backup"
    # A second audit that finds nothing new writes nothing, to the inventory or its own rows.
    with CaptureQueriesContext(connection) as queries:
        failover_audit_run()
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    # Someone empties kbo-001's backup in the console: it needs attention from the next poll.
    kbo = LiveChannel.objects.get(name="channel-kbo-001")
    _backup_emptied_in_console(demo, kbo)
    inventory_poll(full=True)
    kbo.refresh_from_db()
    assert kbo.input_protected is False and kbo.needs_attention


# --- plan ----------------------------------------------------------------------------------


def test_plan_is_a_diff_of_the_primary_failover_settings_only(incident_synced):
    plan = failover_plan(channel=_channel())
    assert (plan.primary_input_id, plan.secondary_input_id) == (MAIN_INPUT, BACKUP_INPUT)
    changed = [c for c in plan.changes if c.changed]
    assert [c.input_id for c in changed] == [MAIN_INPUT]
    assert changed[0].before == EMPTY and changed[0].after == FIXED
    diff = plan.diff_lines()
    assert sum(1 for line in diff if line.startswith("-")) == 1
    assert sum(1 for line in diff if line.startswith("+")) == 1
    assert not incident_synced.requests("mdl", "ModifyStreamLiveChannel")


def test_plan_takes_the_operators_choices_and_validates_them(incident_synced):
    plan = failover_plan(
        channel=_channel(),
        secondary_input_id=EVENT_INPUT,
        loss_threshold_ms=5000,
        recover_behavior="PRIMARY_PREFERRED",
    )
    assert plan.changes[0].after == {
        "SecondaryInputId": EVENT_INPUT,
        "LossThreshold": 5000,
        "RecoverBehavior": "PRIMARY_PREFERRED",
    }
    assert any("differs from the flows" in n for n in plan.notes)
    with pytest.raises(ValidationFailed):
        failover_plan(channel=_channel(), loss_threshold_ms=999)
    with pytest.raises(ValidationFailed):
        failover_plan(channel=_channel(), recover_behavior="NEWEST")
    with pytest.raises(ValidationFailed) as exc:
        failover_plan(channel=_channel(), secondary_input_id="NOT_ATTACHED")
    assert exc.value.code == "invalid_secondary"
    with pytest.raises(ValidationFailed):
        failover_plan(channel=_channel(), secondary_input_id=MAIN_INPUT)


# --- apply ---------------------------------------------------------------------------------


def test_apply_refused_on_running_channel_offers_stop_start(incident_synced, slack):
    before = describe_raw()
    with pytest.raises(Conflict) as exc:
        failover_apply(channel=_channel(), actor=SYSTEM)
    assert exc.value.code == "stop_start_required"
    assert exc.value.detail["retry_with"] == {"allow_stop_start": True}
    assert "stopped, modified and started again" in exc.value.message
    assert describe_raw() == before
    action = OperatorAction.objects.get(action="channel.failover_fix")
    assert action.status == "failed" and action.outcome_code == "stop_start_required"
    assert not incident_synced.requests("mdl", "StopStreamLiveChannel")


def test_apply_with_stop_start_repairs_and_leaves_everything_else(incident_synced, operator, slack):
    before = describe_raw()
    action = _fix(actor=Actor(user=operator, origin="api"), allow_stop_start=True)
    assert action.result == {"status": "verified", "stop_start": True, "verdict": "OK"}
    assert "now fails over to" in action.outcome and "started again" in action.outcome
    after = describe_raw()
    assert after["State"] == "RUNNING"
    _assert_only_primary_failover_changed(before, after)
    sent = incident_synced.requests("mdl")
    order = [r["action"] for r in sent if r["action"].startswith(("Stop", "Modify", "Start"))]
    assert order == [
        "ModifyStreamLiveChannel",
        "StopStreamLiveChannel",
        "ModifyStreamLiveChannel",
        "StartStreamLiveChannel",
    ]
    assert action.status == "succeeded" and action.actor_name == "operator"
    steps = [p["step"] for p in action.progress]
    assert steps[1:] == STOP_START_STEPS
    assert steps[0] == (
        f"Plan: FailOverSettings of {MAIN_INPUT} cj_onstyle_main: "
        f"{json.dumps(EMPTY)} -> {json.dumps(FIXED)}"
    )
    assert len(action.request_ids) == 2  # the stop and the start
    assert FailoverAudit.objects.get(channel__cloud_id=CJ).verdict == "OK"
    assert FailoverFix.objects.get().status == "verified"
    assert Notification.objects.filter(event="failover.fixed", subject=CJ).count() == 1
    # The next poll sees it: the fix is confirmed, no drift is reported.
    inventory_poll(full=True)
    assert FailoverFix.objects.get().status == "confirmed"
    assert FailoverAudit.objects.get(channel__cloud_id=CJ).verdict == "OK"
    assert not Notification.objects.filter(event="failover.drift").exists()


def test_stop_start_is_refused_by_a_schedule_guard_unless_overridden(incident_synced, slack):
    def on_air(target, verb):
        return f"{target.name} is on air until 22:00." if verb == "restart" else None

    with registry.ACTION_GUARDS.registered(on_air):
        with pytest.raises(Conflict) as exc:
            failover_apply(channel=_channel(), actor=SYSTEM, allow_stop_start=True)
        assert exc.value.code == "guarded"
        assert OperatorAction.objects.get().outcome_code == "guarded"
        assert not incident_synced.requests("mdl", "StopStreamLiveChannel")
        action = _fix(allow_stop_start=True, override=True)
        assert action.result["status"] == "verified"
        progress = " ".join(p["step"] for p in action.progress)
        assert "overriding: cj_onstyle is on air until 22:00." in progress


def test_a_failed_modify_on_the_stop_start_path_starts_the_channel_again(incident_synced, slack):
    before = describe_raw()
    begun = failover_apply(channel=_channel(), actor=SYSTEM, allow_stop_start=True)
    # The modify after the stop fails (the one before it was the refusal on a running channel).
    incident_synced.control(
        "fault",
        {
            "service": "mdl",
            "action": "ModifyStreamLiveChannel",
            "error_code": "InvalidParameter.AttachedInputs",
        },
    )
    actions_run_pending()
    action = OperatorAction.objects.get(pk=begun.pk)
    after = describe_raw()
    assert after["State"] == "RUNNING"  # back on air
    assert after["AttachedInputs"] == before["AttachedInputs"]  # nothing changed
    acted = [r["action"] for r in incident_synced.requests("mdl") if r["action"][:4] == "Star"]
    assert acted == ["StartStreamLiveChannel"]
    assert action.status == "failed" and action.result["restarted"] is True
    assert "cj_onstyle was started again and is running" in action.outcome
    steps = [p["step"] for p in action.progress]
    assert any(
        s.startswith("The modify failed") and "starting cj_onstyle again" in s for s in steps
    )
    assert steps[-1] == "cj_onstyle is running again."
    assert not FailoverFix.objects.exists()


def test_a_fix_taken_over_after_its_modify_starts_the_channel_once_and_verifies(
    incident_synced, slack
):
    from datetime import timedelta

    from django.utils import timezone

    from broadcastops.actions.tasks import action_takeover_task
    from broadcastops.cloud.tencent import tencent_gateway
    from failover.services import FixSpec

    before = describe_raw()
    begun = failover_apply(channel=_channel(), actor=SYSTEM, allow_stop_start=True)
    spec = FixSpec.from_json(OperatorAction.objects.get(pk=begun.pk).state["spec"])
    # Its worker stopped the channel, modified it, and died before starting it again.
    gateway = tencent_gateway()
    gateway.live_channel_stop(channel_id=CJ)
    deadline = time.monotonic() + 10
    while gateway.live_channel_get(channel_id=CJ).state != "IDLE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    gateway.live_channel_failover_modify(channel_id=CJ, changes=spec.changes)
    OperatorAction.objects.filter(pk=begun.pk).update(
        state={**begun.state, "modified": True},
        attempts=1,
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    action_takeover_task()
    assert actions_run_pending() == [begun.pk]
    action = OperatorAction.objects.get(pk=begun.pk)
    assert action.result == {"status": "verified", "stop_start": True, "verdict": "OK"}
    assert action.attempts == 2
    _assert_only_primary_failover_changed(before, describe_raw())
    sent = [r["action"] for r in incident_synced.requests("mdl")]
    assert sent.count("ModifyStreamLiveChannel") == 2  # the refused one, the dead worker's
    assert sent.count("StartStreamLiveChannel") == 1 and sent.count("StopStreamLiveChannel") == 1
    assert FailoverFix.objects.get().status == "verified"


def test_apply_directly_when_the_cloud_allows_modify_while_running(incident_synced, slack):
    incident_synced.control("options", {"modify_running_allowed": True})
    before = describe_raw()
    action = _fix()
    assert action.result == {"status": "verified", "stop_start": False, "verdict": "OK"}
    _assert_only_primary_failover_changed(before, describe_raw())
    assert not incident_synced.requests("mdl", "StopStreamLiveChannel")
    assert len(incident_synced.requests("mdl", "ModifyStreamLiveChannel")) == 1


def test_verification_timeout_leaves_the_fix_pending(incident_synced, slack, settings):
    settings.FAILOVER_VERIFY_TIMEOUT_S = 0.5
    incident_synced.control("options", {"modify_running_allowed": True})
    # The API accepts the change but does not show it (yet).
    incident_synced.sim.tencent._mdl_ModifyStreamLiveChannel = lambda params, now: {"TagMsg": ""}
    started = time.monotonic()
    action = _fix()
    assert time.monotonic() - started < 5
    assert action.result["status"] == "pending" and action.outcome.startswith("PENDING: ")
    assert FailoverFix.objects.get().status == "pending"
    assert FailoverAudit.objects.get(channel__cloud_id=CJ).verdict == "PENDING"
    assert Notification.objects.filter(event="failover.fix_pending", subject=CJ).count() == 1
    assert OperatorAction.objects.get().outcome.startswith("PENDING")
    # Later audits still say PENDING until the deadline, then the real verdict returns.
    inventory_poll(full=True)
    assert FailoverAudit.objects.get(channel__cloud_id=CJ).verdict == "PENDING"
    FailoverFix.objects.update(deadline=FailoverFix.objects.get().applied_at)
    failover_audit_run()
    assert FailoverAudit.objects.get(channel__cloud_id=CJ).verdict == "ENABLED_WITHOUT_BACKUP"
    assert FailoverFix.objects.get().status == "expired"


def test_a_failed_reread_during_verification_is_retried(incident_synced, slack, settings):
    incident_synced.control("options", {"modify_running_allowed": True})
    settings.CLOUD_MAX_RETRIES = 0
    from broadcastops.cloud.tencent import tencent_gateway

    tencent_gateway.cache_clear()
    original = incident_synced.sim.tencent._mdl_ModifyStreamLiveChannel

    def modify_then_fail_reads(params, now):
        result = original(params, now)
        incident_synced.control(
            "fault",
            {
                "service": "mdl",
                "action": "DescribeStreamLiveChannel",
                "error_code": "InternalError",
                "count": 2,
            },
        )
        return result

    incident_synced.sim.tencent._mdl_ModifyStreamLiveChannel = modify_then_fail_reads
    begun = failover_apply(channel=_channel(), actor=SYSTEM)  # the modify is in the request
    actions_run_pending()  # the worker's re-reads fail twice, then show the fix
    assert OperatorAction.objects.get(pk=begun.pk).result["status"] == "verified"


def test_concurrent_fix_of_the_same_channel_is_refused(incident_synced):
    OperatorAction.objects.create(
        actor_name="someone", action="channel.failover_fix", target_type="channel", target_id=CJ
    )
    with pytest.raises(Conflict) as exc:
        failover_apply(channel=_channel(), actor=SYSTEM, allow_stop_start=True)
    assert exc.value.code == "busy" and "someone" in exc.value.message
    assert not incident_synced.requests("mdl", "ModifyStreamLiveChannel")


def test_after_repair_cutting_main_fails_over_to_backup(incident_synced, slack):
    _fix(allow_stop_start=True)
    state = incident_synced.control("inspect")["channels"][CJ]
    assert state["ActiveInputs"] == [MAIN_INPUT, MAIN_INPUT]
    incident_synced.control("signal", {"input_id": MAIN_INPUT, "pipeline": None, "present": False})
    # Past the 3000 ms LossThreshold on the simulator's clock, not the wall's.
    incident_synced.control("clock", {"advance_s": 3.5})
    state = incident_synced.control("inspect")["channels"][CJ]
    assert state["ActiveInputs"] == [BACKUP_INPUT, BACKUP_INPUT]


def test_without_repair_cutting_main_leaves_no_input(incident_synced):
    incident_synced.control("signal", {"input_id": MAIN_INPUT, "pipeline": None, "present": False})
    incident_synced.control("clock", {"advance_s": 3.5})
    state = incident_synced.control("inspect")["channels"][CJ]
    assert BACKUP_INPUT not in state["ActiveInputs"]


# --- commands ------------------------------------------------------------------------------


def test_failover_audit_json_flags_the_incident(incident, capsys):
    call_command("failover_audit", "--json")
    body = json.loads(capsys.readouterr().out)
    (cj,) = body["channels"]
    assert cj["verdict"] == "ENABLED_WITHOUT_BACKUP" and cj["name"] == "cj_onstyle"
    assert (cj["primary_input_id"], cj["backup_input_id"]) == (MAIN_INPUT, BACKUP_INPUT)
    assert (cj["mapping"]["main_flow"], cj["mapping"]["backup_flow"]) == (
        "cj_onstyle_m2",
        "cj_onstyle_b2",
    )
    assert [i["verdict"] for i in cj["inputs"]] == ["ENABLED_WITHOUT_BACKUP"] * 3
    assert cj["steps"] and cj["causes"]


def test_failover_fix_dry_run_changes_nothing_and_apply_repairs(incident_synced, capsys, slack):
    before = describe_raw()
    call_command("failover_fix", "cj_onstyle")
    out = capsys.readouterr().out
    assert "Dry run" in out and f"+   FailOverSettings: {json.dumps(FIXED)}" in out
    assert describe_raw() == before
    assert not incident_synced.requests("mdl", "ModifyStreamLiveChannel")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--allow-stop-start"):
        call_command("failover_fix", "cj_onstyle", "--apply")
    call_command("failover_fix", "cj_onstyle", "--apply", "--allow-stop-start", "--no-wait")
    begun = OperatorAction.objects.filter(status="running").get()
    assert f"Action #{begun.pk} (channel.failover_fix on cj_onstyle) is running" in (
        capsys.readouterr().out
    )
    actions_run_pending()  # the worker (the real one: test_action_worker.py)
    call_command("follow_action", str(begun.pk))
    out = capsys.readouterr().out
    assert "Starting cj_onstyle again." in out and "SUCCEEDED: cj_onstyle: " in out
    _assert_only_primary_failover_changed(before, describe_raw())


def test_an_audit_that_finds_nothing_new_writes_nothing(demo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    inventory_poll(full=True)
    with CaptureQueriesContext(connection) as queries:
        inventory_poll(full=True)
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
