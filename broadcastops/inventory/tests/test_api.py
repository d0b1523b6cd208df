import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broadcastops.inventory.models import OperatorAction
from broadcastops.inventory.services import actions
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.inventory.tasks import channel_restart_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(demo):
    inventory_poll(full=True)
    return demo


def test_channel_list_filters_by_state_and_input_in_constant_queries(synced, viewer_client):
    with CaptureQueriesContext(connection) as queries:
        body = viewer_client.get("/api/v1/channels/?state=RUNNING").json()
    assert body["count"] == 6
    assert {c["state"] for c in body["results"]} == {"RUNNING"}
    assert len(queries) <= 4  # session-less auth + count + page, whatever the page size
    idle = viewer_client.get("/api/v1/channels/?active_input=NONE").json()
    assert idle["count"] == 6
    attention = viewer_client.get("/api/v1/channels/?attention=true").json()
    # On air without input protection: failover off, and twice the incident's misconfiguration.
    assert {c["name"] for c in attention["results"]} == {
        "channel-kbo-002",
        "channel-news-001",
        "cj_onstyle",
    }
    assert all(c["needs_attention"] for c in attention["results"])


def test_bad_filter_value_is_a_400_naming_the_field(synced, viewer_client):
    response = viewer_client.get("/api/v1/channels/?active_input=SIDEWAYS")
    assert response.status_code == 400
    assert "active_input" in response.json()["detail"]


def test_channel_detail_by_name_shows_flows_and_diagnosis(synced, viewer_client):
    body = viewer_client.get("/api/v1/channels/channel-kbo-001/").json()
    assert body["cloud_id"] == "69220B6482B6EAF453CC"
    assert {f["name"] for f in body["flows"]} == {"kbo001_m", "kbo001_b"}
    assert body["diagnosis"]["cause"] == "All services healthy."
    assert viewer_client.get("/api/v1/channels/nope/").status_code == 404


def test_full_status_lists_summary_and_every_channel(synced, viewer_client):
    body = viewer_client.get("/api/v1/status/").json()
    assert body["summary"]["streamlive"]["by_state"] == {"RUNNING": 6, "IDLE": 6}
    assert len(body["channels"]) == 12


def test_viewers_cannot_act_and_actions_need_confirmation(synced, viewer_client, operator_client):
    assert (
        viewer_client.post(
            "/api/v1/channels/channel-news-002/start", {"confirm": True}, format="json"
        ).status_code
        == 403
    )
    refused = operator_client.post("/api/v1/channels/channel-news-002/start", {}, format="json")
    assert refused.status_code == 400 and "confirm" in refused.json()["message"]
    assert OperatorAction.objects.count() == 0


def test_start_is_audited_with_its_outcome(synced, operator_client, operator):
    response = operator_client.post(
        "/api/v1/channels/channel-news-002/start", {"confirm": True}, format="json"
    )
    assert response.status_code == 200, response.json()
    action = OperatorAction.objects.get()
    assert action.actor == operator and action.action == "channel.start"
    assert action.status == "succeeded" and action.target_name == "channel-news-002"
    starts = synced.requests(service="mdl", action="StartStreamLiveChannel")
    assert [r["params"]["Id"] for r in starts] == ["66F1779B1AB2DFF5BDAA"]
    assert len(action.request_ids) == 1 and len(action.request_ids[0]) == 36  # the cloud's id


def test_starting_a_running_channel_is_a_409_and_audited_as_failed(synced, operator_client):
    response = operator_client.post(
        "/api/v1/channels/channel-kbo-001/start", {"confirm": True}, format="json"
    )
    assert response.status_code == 409
    assert "current state" in response.json()["message"]
    action = OperatorAction.objects.get()
    assert action.status == "failed" and "StateError" in action.outcome


def test_a_second_action_on_a_busy_channel_is_refused(synced, operator_client, operator):
    OperatorAction.objects.create(
        actor=operator,
        actor_name="someone",
        action="channel.restart",
        target_type="channel",
        target_id="66F1779B1AB2DFF5BDAA",
        target_name="channel-news-002",
    )
    response = operator_client.post(
        "/api/v1/channels/channel-news-002/start", {"confirm": True}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "busy"
    assert "someone" in response.json()["message"]


def test_a_guard_vetoes_unless_overridden(synced, operator_client):
    def on_air(channel, action):
        return f"{channel.name} is on air until 22:00 (schedule KBO)." if action == "stop" else None

    actions.action_guard_register(on_air)
    try:
        refused = operator_client.post(
            "/api/v1/channels/channel-kbo-001/stop", {"confirm": True}, format="json"
        )
        assert refused.status_code == 409 and refused.json()["code"] == "guarded"
        done = operator_client.post(
            "/api/v1/channels/channel-kbo-001/stop",
            {"confirm": True, "override": True},
            format="json",
        )
        assert done.status_code == 200
        assert OperatorAction.objects.get().params["overridden"] == [
            "channel-kbo-001 is on air until 22:00 (schedule KBO)."
        ]
    finally:
        actions._GUARDS.remove(on_air)


def test_restart_runs_in_the_background_with_progress(synced, operator_client, settings):
    settings.INVENTORY_RESTART_POLL_S = 0.1
    response = operator_client.post(
        "/api/v1/channels/channel-kbo-002/restart", {"confirm": True}, format="json"
    )
    assert response.status_code == 202
    action_id = response.json()["id"]
    channel_restart_task(action_id)  # what the worker runs
    body = operator_client.get(f"/api/v1/audit/{action_id}/").json()
    assert body["status"] == "succeeded", body
    steps = [p["step"] for p in body["progress"]]
    assert steps[0].startswith("stopping") and steps[-1].startswith("running")
    assert "pipeline 0" in body["outcome"]
    assert len(body["request_ids"]) == 2  # the stop and the start, as the cloud numbered them


def test_flows_can_be_stopped_and_started(synced, operator_client):
    stop = operator_client.post("/api/v1/flows/kbo001_b/stop", {"confirm": True}, format="json")
    assert stop.status_code == 200
    again = operator_client.post("/api/v1/flows/kbo001_b/stop", {"confirm": True}, format="json")
    assert again.status_code == 409


def test_the_audit_trail_is_for_admins(synced, operator_client, admin_client_api):
    operator_client.post(
        "/api/v1/channels/channel-news-002/start", {"confirm": True}, format="json"
    )
    assert operator_client.get("/api/v1/audit/").status_code == 403
    rows = admin_client_api.get("/api/v1/audit/").json()["results"]
    assert rows[0]["actor_name"] == "operator" and rows[0]["action"] == "channel.start"
