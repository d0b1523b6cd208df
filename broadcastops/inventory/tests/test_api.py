import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broadcastops import registry
from broadcastops.actions.models import OperatorAction
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.tests.helpers import actions_run_pending

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


def test_start_answers_202_runs_in_the_worker_and_is_audited(synced, operator_client, operator):
    response = operator_client.post(
        "/api/v1/channels/channel-news-002/start", {"confirm": True}, format="json"
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == body["url"] == f"/api/v1/actions/{body['id']}/"
    assert body["status"] == "running" and body["kind"] == "channel.start"
    assert not synced.requests(service="mdl", action="StartStreamLiveChannel")  # not yet
    assert actions_run_pending() == [body["id"]]  # what the worker runs
    action = OperatorAction.objects.get()
    assert action.actor == operator and (action.origin, action.actor_name) == ("api", "operator")
    assert action.status == "succeeded" and action.target_name == "channel-news-002"
    starts = synced.requests(service="mdl", action="StartStreamLiveChannel")
    assert [r["params"]["Id"] for r in starts] == ["66F1779B1AB2DFF5BDAA"]
    assert len(action.request_ids) == 1 and len(action.request_ids[0]) == 36  # the cloud's id
    followed = operator_client.get(body["url"]).json()
    assert followed["status"] == "succeeded" and followed["result"] == {"state": "RUNNING"}
    assert followed["outcome"].startswith("Running; pipeline 0: ")


def test_starting_a_running_channel_sends_nothing_and_says_so(synced, operator_client):
    response = operator_client.post(
        "/api/v1/channels/channel-kbo-001/start", {"confirm": True}, format="json"
    )
    assert response.status_code == 202
    actions_run_pending()
    action = OperatorAction.objects.get()
    assert action.status == "succeeded"
    assert action.progress[0]["step"] == "channel-kbo-001 is already RUNNING: nothing to start."
    assert not synced.requests(service="mdl", action="StartStreamLiveChannel")


def test_a_refusal_of_the_cloud_ends_the_action_failed_with_its_reason(synced, operator_client):
    synced.control(
        "fault",
        {"service": "mdl", "action": "StartStreamLiveChannel", "error_code": "InvalidParameter"},
    )
    operator_client.post(
        "/api/v1/channels/channel-news-002/start", {"confirm": True}, format="json"
    )
    actions_run_pending()
    body = operator_client.get(f"/api/v1/actions/{OperatorAction.objects.get().pk}/").json()
    assert body["status"] == "failed" and body["outcome_code"] == "cloud_refused"
    assert body["outcome"].startswith("The cloud refused the action on channel-news-002")


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
    def on_air(target, verb):
        if target.type == "channel" and verb == "stop":
            return f"{target.name} is on air until 22:00 (schedule KBO)."
        return None

    with registry.ACTION_GUARDS.registered(on_air):
        refused = operator_client.post(
            "/api/v1/channels/channel-kbo-001/stop", {"confirm": True}, format="json"
        )
        assert refused.status_code == 409 and refused.json()["code"] == "guarded"
        assert not OperatorAction.objects.exists()
        done = operator_client.post(
            "/api/v1/channels/channel-kbo-001/stop",
            {"confirm": True, "override": True},
            format="json",
        )
        assert done.status_code == 202
        assert OperatorAction.objects.get().params["overridden"] == [
            "channel-kbo-001 is on air until 22:00 (schedule KBO)."
        ]


def test_restart_runs_in_the_background_with_progress(synced, operator_client, settings):
    settings.INVENTORY_RESTART_POLL_S = 0.1
    response = operator_client.post(
        "/api/v1/channels/channel-kbo-002/restart", {"confirm": True}, format="json"
    )
    assert response.status_code == 202
    action_id = response.json()["id"]
    actions_run_pending()  # what the worker runs
    body = operator_client.get(f"/api/v1/actions/{action_id}/").json()
    assert body["status"] == "succeeded", body
    steps = [p["step"] for p in body["progress"]]
    assert steps[0] == "Stopping channel-kbo-002 (it was RUNNING)."
    assert steps[1] == "channel-kbo-002 is idle; starting it."
    assert steps[-1] == "channel-kbo-002 is running; checking its input."
    assert "pipeline 0" in body["outcome"]
    assert len(body["request_ids"]) == 2  # the stop and the start, as the cloud numbered them
    acted = [r["action"] for r in synced.requests("mdl") if r["action"].startswith(("Stop", "Sta"))]
    assert acted == ["StopStreamLiveChannel", "StartStreamLiveChannel"]


def test_progress_and_outcome_are_read_in_the_readers_language(synced, operator_client):
    operator_client.post("/api/v1/channels/channel-kbo-002/stop", {"confirm": True}, format="json")
    actions_run_pending()
    action_id = OperatorAction.objects.get().pk
    english = operator_client.get(f"/api/v1/actions/{action_id}/").json()
    korean = operator_client.get(f"/api/v1/actions/{action_id}/", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert english["outcome"] == "channel-kbo-002 is stopped (idle)."
    assert korean["outcome"] != english["outcome"] and "channel-kbo-002" in korean["outcome"]
    assert korean["progress"][0]["step"] != english["progress"][0]["step"]
    assert OperatorAction.objects.get().outcome == english["outcome"]  # English kept for search


def test_flows_can_be_stopped_and_started(synced, operator_client):
    stop = operator_client.post("/api/v1/flows/kbo001_b/stop", {"confirm": True}, format="json")
    assert stop.status_code == 202
    actions_run_pending()
    again = operator_client.post("/api/v1/flows/kbo001_b/stop", {"confirm": True}, format="json")
    assert again.status_code == 202
    start = operator_client.post("/api/v1/flows/kbo001_b/start", {"confirm": True}, format="json")
    assert start.status_code == 409 and start.json()["code"] == "busy"  # the second stop runs
    actions_run_pending()
    operator_client.post("/api/v1/flows/kbo001_b/start", {"confirm": True}, format="json")
    actions_run_pending()
    outcomes = [a.outcome for a in OperatorAction.objects.order_by("pk")]
    assert outcomes == ["kbo001_b is IDLE.", "kbo001_b is IDLE.", "kbo001_b is RUNNING."]
    calls = [r["action"] for r in synced.requests("mdc") if r["action"][:4] in ("Star", "Stop")]
    assert calls == ["StopStreamLinkFlow", "StartStreamLinkFlow"]  # the second stop sent nothing


def _flow_endpoints(client, path="/api/v1/flows/?limit=1000") -> list[str]:
    return [e for f in client.get(path).json()["results"] for e in f["output_endpoints"]]


def test_viewers_see_push_urls_with_the_stream_key_masked(synced, viewer_client):
    endpoints = _flow_endpoints(viewer_client)
    assert endpoints and all(e.endswith("/****") for e in endpoints)
    assert not any("kbo001m" in e for e in endpoints)
    detail = viewer_client.get("/api/v1/channels/channel-kbo-001/").json()
    shown = [e for f in detail["flows"] for e in f["output_endpoints"]]
    assert shown and all(e.endswith("/****") for e in shown)


def test_operators_and_admins_see_push_urls_whole(synced, operator_client, admin_client_api):
    for client in (operator_client, admin_client_api):
        endpoints = _flow_endpoints(client)
        assert any(e.endswith("/kbo001m") for e in endpoints)
        detail = client.get("/api/v1/channels/channel-kbo-001/").json()
        assert any(e.endswith("/kbo001m") for f in detail["flows"] for e in f["output_endpoints"])


def test_the_admin_masks_push_urls_for_viewers_only(synced, viewer, operator):
    from django.test import Client

    from broadcastops.inventory.models import LinkFlow, LiveInput

    flow = LinkFlow.objects.get(name="kbo001_m")
    live_input = LiveInput.objects.get(pk=flow.feeds_input_id)
    pages = {}
    for user in (viewer, operator):
        client = Client()
        client.force_login(user)
        pages[user.username] = [
            client.get(f"/admin/inventory/linkflow/{flow.pk}/change/").content.decode(),
            client.get(f"/admin/inventory/liveinput/{live_input.pk}/change/").content.decode(),
        ]
    assert all("kbo001m" not in page and "/****" in page for page in pages["viewer"])
    assert all("kbo001m" in page for page in pages["operator"])


def test_logs_never_show_a_stream_key(caplog):
    import logging

    from broadcastops.logs import SecretsFilter

    record = logging.LogRecord(
        "broadcastops.x", logging.WARNING, __file__, 1, "push to %s failed", None, None
    )
    record.args = ("rtmp://push.example/live/kbo001m?txSecret=abc",)
    SecretsFilter().filter(record)
    assert record.getMessage() == "push to rtmp://push.example/live/****?txSecret=**** failed"
