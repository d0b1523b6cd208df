import time

import pytest
from django.db import IntegrityError, transaction

from assistant.models import SlackRequest
from assistant.tasks import slack_action_report_task
from assistant.tests.conftest import slack_requests_run_pending
from broadcastops.actions.models import OperatorAction
from broadcastops.notify.models import NotifyProfile
from broadcastops.notify.selectors import slack_user_linked
from broadcastops.tests.helpers import actions_run_pending

pytestmark = pytest.mark.django_db(transaction=True)


def _texts(blocks: list[dict]) -> str:
    """Every text of a Block Kit message, joined (what a person reads)."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


def test_a_signed_command_returns_the_dashboard(synced, signer, linked_operator):
    response = signer.command()
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    text = _texts(body["blocks"])
    # The demo: 6 running, 6 idle; three channels on air without input protection.
    assert "StreamLive" in text and "Running 6" in text and "Idle 6" in text
    assert "Needing attention:" in text
    for name in ("channel-kbo-002", "channel-news-001", "cj_onstyle"):
        assert f"*{name}*" in text
    assert "Today's schedules: 0" in text and "Open player-error incidents: 0" in text
    menu = next(b for b in body["blocks"] if b["type"] == "actions")["elements"][0]
    assert menu["action_id"] == "channel_status" and len(menu["options"]) == 12
    assert "Read only" not in text  # a linked Operator may act


def test_the_dashboard_is_in_the_linked_users_language(synced, signer, linked_operator):
    NotifyProfile.objects.filter(user=linked_operator).update(language="ko")
    text = _texts(signer.command().json()["blocks"])
    assert "조치 필요: 3" in text and "StreamLive" in text and "실행 중 6" in text


def test_bad_signature_old_timestamp_and_replay_are_refused_with_401(synced, signer):
    body = "command=%2Ftencent&user_id=U0X&text="
    forged = signer.headers(body)
    forged["HTTP_X_SLACK_SIGNATURE"] = "v0=" + "0" * 64
    assert signer.post("/api/v1/slack/commands", body, forged).status_code == 401
    old = signer.headers(body, timestamp=int(time.time()) - 6 * 60)
    assert signer.post("/api/v1/slack/commands", body, old).status_code == 401
    unsigned = signer.post("/api/v1/slack/commands", body, {})
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "authentication_failed"
    fresh = signer.headers(body)
    assert signer.post("/api/v1/slack/commands", body, fresh).status_code == 200
    replay = signer.post("/api/v1/slack/commands", body, fresh)
    assert replay.status_code == 401 and "replay" in replay.json()["message"]


def test_without_a_signing_secret_nothing_is_accepted(synced, signer, settings):
    settings.SLACK_SIGNING_SECRET = ""
    assert signer.command().status_code == 401


def test_an_unlinked_user_sees_the_dashboard_read_only_with_the_linking_hint(synced, signer):
    text = _texts(signer.command(user_id="U0STRANGER").json()["blocks"])
    assert "Read only" in text and "/admin/notify/notifyprofile/mine/" in text


def test_the_channel_menu_answers_with_the_channels_status_and_buttons(
    synced, signer, linked_operator, slack
):
    body = signer.payload(
        action_id="channel_status",
        value="channel-kbo-001",
        user_id="U0OPERATOR",
        response_url=slack.url,
    )
    assert signer.interact(body).status_code == 200
    assert slack_requests_run_pending()
    (posted,) = slack.received
    text = _texts(posted["blocks"])
    assert text.startswith("channel-kbo-001: ")
    assert "All services healthy." in text  # the same diagnosis as ops_status
    buttons = next(b for b in posted["blocks"] if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == ["channel_start", "channel_stop", "channel_restart"]
    assert "confirm" not in buttons[0]
    assert buttons[1]["confirm"]["style"] == "danger" and buttons[2]["style"] == "danger"
    assert buttons[2]["confirm"]["title"]["text"] == "Restart channel-kbo-001?"


def test_a_linked_operators_restart_button_restarts_the_channel_and_names_the_slack_user(
    synced, signer, linked_operator, slack
):
    body = signer.payload(
        action_id="channel_restart",
        value="69220B6482B6EAF453CC",
        user_id="U0OPERATOR",
        response_url=slack.url,
    )
    response = signer.interact(body)
    assert response.status_code == 200 and response.content in (b"", b'""')
    assert not OperatorAction.objects.exists()  # nothing acts inside the request
    slack_requests_run_pending()
    action = OperatorAction.objects.get()
    assert action.action == "channel.restart" and action.target_name == "channel-kbo-001"
    assert action.origin == "slack" and action.origin_ref == "U0OPERATOR @kim"
    assert action.actor == linked_operator and action.actor_name == "operator"
    assert "begun by U0OPERATOR @kim" in slack.received[0]["text"]
    actions_run_pending()  # the worker
    calls = [
        r["action"] for r in synced.requests("mdl") if r["action"].startswith(("Stop", "Start"))
    ]
    assert calls == ["StopStreamLiveChannel", "StartStreamLiveChannel"]
    slack_action_report_task(SlackRequest.objects.get().pk)
    assert slack.received[-1]["text"].startswith("✅ ")
    assert "channel-kbo-001" in slack.received[-1]["text"]
    assert SlackRequest.objects.get().response_url == ""  # not kept once answered


def test_a_retried_button_press_acts_once(synced, signer, linked_operator, slack):
    body = signer.payload(
        action_id="channel_stop",
        value="channel-kbo-001",
        user_id="U0OPERATOR",
        response_url=slack.url,
        trigger="trigger-once",
    )
    headers = signer.headers(body)
    assert signer.post("/api/v1/slack/interactions", body, headers).status_code == 200
    # Slack retries the same delivery (same signature) and, later, signs it anew.
    retry = {**headers, "HTTP_X_SLACK_RETRY_NUM": "1", "HTTP_X_SLACK_RETRY_REASON": "http_timeout"}
    assert signer.post("/api/v1/slack/interactions", body, retry).status_code == 200
    resigned = signer.headers(body, **{"X-Slack-Retry-Num": "2"})
    assert signer.post("/api/v1/slack/interactions", body, resigned).status_code == 200
    assert SlackRequest.objects.count() == 1
    slack_requests_run_pending()
    slack_requests_run_pending()  # a redelivered task finds the row done
    assert OperatorAction.objects.count() == 1
    actions_run_pending()
    stops = synced.requests("mdl", "StopStreamLiveChannel")
    assert len(stops) == 1


def test_an_unlinked_user_is_refused_with_the_linking_hint(synced, signer, slack):
    body = signer.payload(
        action_id="channel_restart",
        value="channel-kbo-001",
        user_id="U0STRANGER",
        response_url=slack.url,
    )
    assert signer.interact(body).status_code == 200
    slack_requests_run_pending()
    assert not OperatorAction.objects.exists()
    assert (
        "not linked" in slack.received[0]["text"]
        and "/admin/notify/notifyprofile/mine/" in (slack.received[0]["text"])
    )
    assert SlackRequest.objects.get().outcome_code == "not_linked"


def test_a_linked_viewer_cannot_act(synced, signer, viewer, slack):
    NotifyProfile.objects.create(user=viewer, slack_user_id="U0VIEWER")
    body = signer.payload(
        action_id="channel_stop",
        value="channel-kbo-001",
        user_id="U0VIEWER",
        response_url=slack.url,
    )
    signer.interact(body)
    slack_requests_run_pending()
    assert not OperatorAction.objects.exists()
    assert SlackRequest.objects.get().outcome_code == "not_linked"


def test_a_slack_id_cannot_be_linked_to_two_users(linked_operator, admin_user):
    # Slack buttons act as the linked user: the database keeps an id to one of them.
    with pytest.raises(IntegrityError), transaction.atomic():
        NotifyProfile.objects.create(user=admin_user, slack_user_id="U0OPERATOR")
    assert slack_user_linked(slack_user_id="U0OPERATOR") == linked_operator


def test_a_guarded_or_busy_channel_is_refused_in_slack(synced, signer, linked_operator, slack):
    OperatorAction.objects.create(
        actor_name="someone",
        action="channel.restart",
        target_type="channel",
        target_id="69220B6482B6EAF453CC",
        target_name="channel-kbo-001",
    )
    body = signer.payload(
        action_id="channel_start",
        value="channel-kbo-001",
        user_id="U0OPERATOR",
        response_url=slack.url,
    )
    signer.interact(body)
    slack_requests_run_pending()
    assert slack.received[0]["text"].startswith("⛔ ") and "busy" in slack.received[0]["text"]
    assert SlackRequest.objects.get().outcome_code == "refused"


def test_a_bad_payload_is_a_400_with_a_message(synced, signer):
    body = "payload=%7Bnot-json"
    response = signer.interact(body)
    assert response.status_code == 400 and response.json()["message"]
    body = signer.payload(action_id="rm_rf", value="x", user_id="U0X", response_url="http://x")
    assert signer.interact(body).status_code == 400


def test_the_dashboard_lists_todays_schedules_and_open_incidents(synced, signer, linked_operator):
    from datetime import timedelta

    from django.utils import timezone

    from broadcastops.inventory.selectors import channel_get
    from errorlogs.models import Incident
    from scheduling.services import schedule_create

    now = timezone.now()
    schedule_create(
        title="KBO 야구 중계",
        channel=channel_get(key="channel-kbo-001"),
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(minutes=30),
        allow_past=True,
    )
    Incident.objects.create(
        scope_key="host:whep.example.test",
        whep_host="whep.example.test",
        server_name="mediamtx-1",
        trigger=Incident.Trigger.VIEWERS,
        opened_at=now,
        first_report_at=now,
        last_report_at=now,
        viewer_count=12,
    )
    Incident.objects.create(
        scope_key="host:old",
        trigger=Incident.Trigger.VIEWERS,
        state=Incident.State.RESOLVED,
        opened_at=now,
        first_report_at=now,
        last_report_at=now,
    )
    text = _texts(signer.command().json()["blocks"])
    assert "Today's schedules: 1" in text and "*KBO 야구 중계* (channel-kbo-001" in text
    assert "Open player-error incidents: 1" in text
    assert "mediamtx-1: 12 viewers failing since" in text


def test_the_command_answers_in_a_fixed_number_of_queries_well_within_3_s(
    synced, signer, linked_operator
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signer.command()  # warm: translations, ServiceSync rows
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        response = signer.command()
    elapsed_s = time.monotonic() - started
    assert response.status_code == 200
    # The linked user and their language, the inventory's five, today's schedules, incidents.
    assert len(queries) <= 12, [q["sql"][:80] for q in queries]
    assert elapsed_s < 3.0  # Slack's limit; 0.025 s measured on the 12-channel demo (load 8)
    print(f"command answered in {elapsed_s:.3f} s with {len(queries)} queries")
