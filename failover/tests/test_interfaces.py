"""REST, admin and permissions of the failover audit and repair."""

import pytest
from django.test import Client

from broadcastops.actions.models import OperatorAction
from broadcastops.inventory.models import LiveChannel
from broadcastops.tests.helpers import actions_run_pending
from failover.models import FailoverAudit
from failover.tests.conftest import BACKUP_INPUT, CJ, MAIN_INPUT, describe_raw

pytestmark = pytest.mark.django_db(transaction=True)


def _login(user):
    client = Client()
    client.force_login(user)
    return client


def test_viewers_read_the_audit_but_cannot_plan_or_apply(incident_synced, viewer_client):
    listed = viewer_client.get("/api/v1/failover/audit/")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert row["channel"] == "cj_onstyle" and row["verdict"] == "ENABLED_WITHOUT_BACKUP"
    assert (row["primary_input_id"], row["backup_input_id"]) == (MAIN_INPUT, BACKUP_INPUT)
    assert row["steps"] and len(row["inputs"]) == 3
    assert viewer_client.get("/api/v1/failover/audit/cj_onstyle/").json()["verdict"] == (
        "ENABLED_WITHOUT_BACKUP"
    )
    assert viewer_client.get("/api/v1/failover/audit/?verdict=OK").json()["count"] == 0
    bad = viewer_client.get("/api/v1/failover/audit/?verdict=GREEN")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    for verb in ("plan", "apply"):
        refused = viewer_client.post(f"/api/v1/failover/cj_onstyle/{verb}", {}, format="json")
        assert refused.status_code == 403, verb
    assert not incident_synced.requests("mdl", "ModifyStreamLiveChannel")


def test_anonymous_and_roleless_users_are_refused(incident_synced, api_client, nobody):
    assert api_client.get("/api/v1/failover/audit/").status_code in (401, 403)
    api_client.force_authenticate(nobody)
    assert api_client.get("/api/v1/failover/audit/").status_code == 403
    assert (
        api_client.post("/api/v1/failover/cj_onstyle/apply", {"confirm": True}).status_code == 403
    )


def test_operator_plans_then_applies_with_the_second_confirmation(
    incident_synced, operator_client, slack
):
    plan = operator_client.post("/api/v1/failover/cj_onstyle/plan", {}, format="json")
    assert plan.status_code == 200
    body = plan.json()
    assert body["primary_input_id"] == MAIN_INPUT and body["secondary_input_id"] == BACKUP_INPUT
    assert [c["changed"] for c in body["changes"]] == [True, False, False]
    unconfirmed = operator_client.post("/api/v1/failover/cj_onstyle/apply", {}, format="json")
    assert unconfirmed.status_code == 400
    running = operator_client.post(
        "/api/v1/failover/cj_onstyle/apply", {"confirm": True}, format="json"
    )
    assert running.status_code == 409
    assert running.json()["code"] == "stop_start_required"
    assert running.json()["detail"]["offer"] == "stop_modify_start"
    begun = operator_client.post(
        "/api/v1/failover/cj_onstyle/apply",
        {"confirm": True, "allow_stop_start": True},
        format="json",
    )
    assert begun.status_code == 202, begun.json()
    body = begun.json()
    assert begun["Location"] == body["url"] and body["kind"] == "channel.failover_fix"
    assert body["status"] == "running" and body["progress"][0]["step"].startswith("Plan: ")
    assert not incident_synced.requests("mdl", "StopStreamLiveChannel")  # in the worker
    actions_run_pending()
    done = operator_client.get(body["url"]).json()
    assert done["status"] == "succeeded" and done["result"]["status"] == "verified"
    assert (
        describe_raw()["AttachedInputs"][0]["FailOverSettings"]["SecondaryInputId"] == BACKUP_INPUT
    )
    again = operator_client.post(
        "/api/v1/failover/cj_onstyle/apply", {"confirm": True}, format="json"
    )
    assert again.status_code == 200  # nothing to change: ended at once
    assert again.json()["result"]["status"] == "unchanged"


def test_api_errors_are_clear_4xx(incident_synced, operator_client):
    missing = operator_client.post("/api/v1/failover/nope/plan", {}, format="json")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    bad = operator_client.post(
        "/api/v1/failover/cj_onstyle/plan", {"loss_threshold_ms": 10}, format="json"
    )
    assert bad.status_code == 400 and "1000" in bad.json()["message"]
    wrong = operator_client.post(
        "/api/v1/failover/cj_onstyle/plan", {"secondary_input_id": "X"}, format="json"
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_secondary"
    OperatorAction.objects.create(
        actor_name="someone", action="channel.restart", target_type="channel", target_id=CJ
    )
    busy = operator_client.post(
        "/api/v1/failover/cj_onstyle/apply", {"confirm": True}, format="json"
    )
    assert busy.status_code == 409 and busy.json()["code"] == "busy"


def test_admin_column_audit_page_and_fix_action(incident_synced, operator, viewer, slack):
    channel = LiveChannel.objects.get(cloud_id=CJ)
    changelist = _login(viewer).get("/admin/inventory/livechannel/").content.decode()
    assert "ENABLED_WITHOUT_BACKUP" in changelist
    audit = FailoverAudit.objects.get(channel=channel)
    page = _login(viewer).get(f"/admin/failover/failoveraudit/{audit.pk}/change/").content.decode()
    assert "Likely causes" in page and "Channel Management" in page

    client = _login(operator)
    data = {"action": "fix_input_failover", "_selected_action": [channel.pk]}
    confirm = client.post("/admin/inventory/livechannel/", data).content.decode()
    assert "+   FailOverSettings" in confirm and "Yes, apply the fix" in confirm
    assert not incident_synced.requests("mdl", "ModifyStreamLiveChannel")
    second = client.post("/admin/inventory/livechannel/", {**data, "failover_step": "apply"})
    html = second.content.decode()
    assert second.status_code == 200 and "Yes: stop, modify and start" in html
    done = client.post(
        "/admin/inventory/livechannel/",
        {**data, "failover_step": "apply", "allow_stop_start": "yes"},
        follow=True,
    )
    fix = OperatorAction.objects.get(status="running")
    assert done.redirect_chain == [(f"/admin/inventory/livechannel/{channel.pk}/change/", 302)]
    html = done.content.decode()
    assert f"Action #{fix.pk} (channel.failover_fix on cj_onstyle) is running" in html
    actions_run_pending()
    assert FailoverAudit.objects.get(channel=channel).verdict == "OK"
    # The audit page shows the fix and its progress (to Operators; Viewers do not read it).
    page = client.get(f"/admin/failover/failoveraudit/{audit.pk}/change/").content.decode()
    assert "cj_onstyle is running again." in page and f"#{fix.pk}</a>" in page
    seen = _login(viewer).get(f"/admin/failover/failoveraudit/{audit.pk}/change/").content
    assert "cj_onstyle is running again." not in seen.decode()


def test_viewers_cannot_run_the_fix_action(incident_synced, viewer):
    channel = LiveChannel.objects.get(cloud_id=CJ)
    _login(viewer).post(
        "/admin/inventory/livechannel/",
        {
            "action": "fix_input_failover",
            "_selected_action": [channel.pk],
            "failover_step": "apply",
            "allow_stop_start": "yes",
        },
    )
    assert not OperatorAction.objects.exists()
    assert not incident_synced.requests("mdl", "ModifyStreamLiveChannel")
