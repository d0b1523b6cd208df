"""MCP_APPROVAL=slack: a write waits for an Operator's Approve in Slack (a signed interaction)."""

import asyncio
import threading
import time

import pytest
from mcp import Client

from assistant.mcp.server import ServerOptions, mcp_server_build
from assistant.models import Approval
from assistant.tests.conftest import close_connections, slack_requests_run_pending
from broadcastops.actions.models import OperatorAction

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def approvals(settings, slack):
    settings.MCP_APPROVAL = "slack"
    settings.MCP_APPROVAL_POLL_S = 0.05
    settings.MCP_APPROVAL_TIMEOUT_S = 20
    return slack


def _restart_in_background(results: list) -> threading.Thread:
    async def go():
        async with Client(mcp_server_build(ServerOptions(username="operator"))) as client:
            result = await client.call_tool(
                "restart_channel", {"channel": "channel-kbo-001", "confirm": True}
            )
        await close_connections()
        return result

    thread = threading.Thread(target=lambda: results.append(asyncio.run(go())), daemon=True)
    thread.start()
    return thread


def _posted_approval(slack, timeout_s: float = 15) -> dict:
    deadline = time.monotonic() + timeout_s
    while not slack.received:
        assert time.monotonic() < deadline, "no approval request reached Slack"
        time.sleep(0.05)
    return slack.received[0]


def _press(signer, slack, message: dict, action_id: str, user_id: str) -> None:
    buttons = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    button = next(b for b in buttons if b["action_id"] == action_id)
    body = signer.payload(
        action_id=action_id, value=button["value"], user_id=user_id, response_url=slack.url
    )
    assert signer.interact(body).status_code == 200
    slack_requests_run_pending()


def test_a_restart_runs_only_after_a_signed_approve(synced, signer, linked_operator, approvals):
    results: list = []
    thread = _restart_in_background(results)
    message = _posted_approval(approvals)
    assert "restart_channel" in message["text"]
    text = str(message["blocks"])
    assert "Stop channel-kbo-001 (now RUNNING)" in text and "operator" in text
    time.sleep(0.3)
    assert not OperatorAction.objects.exists() and thread.is_alive()  # it waits
    # A stranger's press (not linked) decides nothing.
    _press(signer, approvals, message, "approval_approve", "U0STRANGER")
    assert Approval.objects.get().status == "pending"
    _press(signer, approvals, message, "approval_approve", "U0OPERATOR")
    thread.join(15)
    (result,) = results
    body = result.structured_content
    assert body["status"] == "begun" and body["approved_by"] == "U0OPERATOR @kim"
    action = OperatorAction.objects.get(pk=body["action_id"])
    assert action.origin == "mcp" and action.actor == linked_operator
    assert "approved by U0OPERATOR @kim" in action.origin_ref
    approval = Approval.objects.get()
    assert approval.status == "approved" and approval.decided_by == linked_operator
    assert "approved by U0OPERATOR @kim" in approvals.received[-1]["text"]


def test_a_denied_restart_does_nothing(synced, signer, linked_operator, approvals):
    results: list = []
    thread = _restart_in_background(results)
    message = _posted_approval(approvals)
    _press(signer, approvals, message, "approval_deny", "U0OPERATOR")
    thread.join(15)
    assert results[0].structured_content["status"] == "denied"
    assert not OperatorAction.objects.exists()


def test_an_unanswered_restart_expires(synced, linked_operator, approvals, settings):
    settings.MCP_APPROVAL_TIMEOUT_S = 0.5
    results: list = []
    _restart_in_background(results).join(15)
    assert results[0].structured_content["status"] == "expired"
    assert Approval.objects.get().status == "expired"
    assert not OperatorAction.objects.exists()
