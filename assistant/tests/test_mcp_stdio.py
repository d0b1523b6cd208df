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
from rest_framework.authtoken.models import Token
watcher = get_user_model().objects.create_user(username="watcher")
user_set_role(user=watcher, role=Role.VIEWER)
print(Token.objects.create(user=watcher).key)
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
    server.viewer_token = server.manage("shell", "-c", SEED_VIEWER).split()[-1]
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


def _http_server(console, port: int):
    import subprocess
    import time

    import requests

    process = subprocess.Popen(
        [sys.executable, "manage.py", "mcp_server", "--http", "--port", str(port)],
        cwd=BASE_DIR,
        env=console.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "mcp_server --http exited"
        try:
            requests.get(f"http://127.0.0.1:{port}/mcp", timeout=2)
            return process
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "mcp_server --http did not listen in 30 s"
            time.sleep(0.2)


def test_http_mode_maps_bearer_tokens_to_console_users(console):
    import httpx2
    import requests
    from mcp.client.streamable_http import streamable_http_client

    from broadcastops.tests.daphne_server import free_port

    port = free_port()
    process = _http_server(console, port)
    url = f"http://127.0.0.1:{port}/mcp"

    async def session(token: str, calls):
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            return [await client.call_tool(name, args) for name, args in calls]

    try:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        anonymous = requests.post(url, json=body, timeout=5)
        assert anonymous.status_code == 401
        wrong = requests.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401
        evil = requests.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {console.token}", "Origin": "http://evil.test"},
            timeout=5,
        )
        assert evil.status_code in (400, 403)  # DNS-rebinding protection: origin not allowed
        status, plan = asyncio.run(
            session(
                console.token,
                [
                    ("get_channel_status", {"channel": "channel-kbo-001"}),
                    ("stop_channel", {"channel": "channel-kbo-001"}),
                ],
            )
        )
        assert status.structured_content["cause"] == "All services healthy."
        assert plan.structured_content["status"] == "plan"
        (refused,) = asyncio.run(
            session(
                console.viewer_token,
                [("stop_channel", {"channel": "channel-kbo-001", "confirm": True})],
            )
        )
        assert refused.is_error and "permission_denied" in refused.content[0].text
    finally:
        process.terminate()
        process.wait(10)
