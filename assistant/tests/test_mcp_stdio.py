"""``manage.py mcp_server`` over stdio, driven by the SDK's own stdio client: a real child
process with its own database, synced from the simulator."""

import asyncio
import json
import sys

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from assistant.mcp.server import WRITE_TOOLS
from broadcastops.tests.daphne_server import BASE_DIR, daphne_simulated

SEED_VIEWER = """
from django.contrib.auth import get_user_model
from broadcastops.accounts.roles import Role
from broadcastops.accounts.services import user_set_role
user_set_role(user=get_user_model().objects.create_user(username="watcher"), role=Role.VIEWER)
print("ok")
"""
RUN_ACTIONS = """
import json
from broadcastops.tests.helpers import actions_run_pending
from broadcastops.actions.models import OperatorAction
actions_run_pending()
print(json.dumps(list(OperatorAction.objects.values("action", "status", "origin", "actor_name"))))
"""


@pytest.fixture
def console(cloudsim, tmp_path):
    server = daphne_simulated(
        cloudsim, tmp_path / "data", INVENTORY_RESTART_POLL_S="0.1", NOTIFY_LANGUAGE="en"
    )
    server.manage("shell", "-c", SEED_VIEWER)
    return server


def _params(console, *args: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["manage.py", "mcp_server", *args],
        env=console.env,
        cwd=BASE_DIR,
    )


async def _session(params, calls):
    async with Client(params, read_timeout_seconds=60) as client:
        tools = await client.list_tools()
        return tools, [await client.call_tool(name, args) for name, args in calls]


def test_stdio_serves_the_tools_as_the_named_user_read_only_and_a_viewer(console, cloudsim):
    tools, (full, status, plan, begun) = asyncio.run(
        _session(
            _params(console, "--user", "op"),
            [
                ("get_full_status", {}),
                ("get_channel_status", {"channel": "channel-kbo-001"}),
                ("restart_channel", {"channel": "channel-kbo-001"}),
                ("restart_channel", {"channel": "channel-kbo-001", "confirm": True}),
            ],
        )
    )
    names = {t.name for t in tools.tools}
    assert len(names) == 20 and set(WRITE_TOOLS) <= names
    assert full.structured_content["streamlive_by_state"] == {"RUNNING": 6, "IDLE": 6}
    assert status.structured_content["cause"] == "All services healthy."
    assert plan.structured_content["status"] == "plan"
    assert begun.structured_content["status"] == "begun", begun.content
    actions = json.loads(console.manage("shell", "-c", RUN_ACTIONS).strip().splitlines()[-1])
    assert actions == [
        {"action": "channel.restart", "status": "succeeded", "origin": "mcp", "actor_name": "op"}
    ]
    acted = [r["action"] for r in cloudsim.requests("mdl") if r["action"][:4] in ("Stop", "Star")]
    assert acted == ["StopStreamLiveChannel", "StartStreamLiveChannel"]
    # The same console (one database: preparing one costs ~30 s here): read only, a Viewer.
    tools, _ = asyncio.run(_session(_params(console, "--user", "op", "--read-only"), []))
    assert not {t.name for t in tools.tools} & set(WRITE_TOOLS)
    _, (refused,) = asyncio.run(
        _session(
            _params(console, "--user", "watcher"),
            [("restart_channel", {"channel": "channel-kbo-001", "confirm": True})],
        )
    )
    assert refused.is_error and "permission_denied" in refused.content[0].text
