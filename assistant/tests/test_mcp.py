"""The MCP server driven through the SDK's own client, in memory, against the simulator."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone
from mcp import Client

from assistant.mcp.server import WRITE_TOOLS, ServerOptions, mcp_server_build
from assistant.tests.conftest import close_connections
from broadcastops.actions.models import OperatorAction
from broadcastops.tests.helpers import actions_run_pending
from scheduling.models import Schedule

pytestmark = pytest.mark.django_db(transaction=True)

READ_TOOLS = {
    "get_full_status",
    "list_channels",
    "get_channel_status",
    "get_input_status",
    "list_schedules",
    "get_upcoming_schedules",
    "list_streampackage_channels",
    "get_streampackage_status",
    "list_css_streams",
    "get_css_stream_status",
    "failover_audit",
    "failover_plan",
    "daily_report",
    "get_kpis",
    "list_error_incidents",
    "get_show_status",
}


def run(coro):
    return asyncio.run(coro)


async def _session(server, calls):
    async with Client(server) as client:
        tools = await client.list_tools()
        results = {}
        for name, args in calls:
            results[name] = await client.call_tool(name, args)
    await close_connections()
    return tools, results


def call(server, *calls):
    return run(_session(server, list(calls)))


def test_every_tool_is_listed_with_schemas_and_honest_hints(synced, operator):
    tools, _ = call(mcp_server_build(ServerOptions(username="operator")))
    by_name = {t.name: t for t in tools.tools}
    assert set(by_name) == READ_TOOLS | set(WRITE_TOOLS)
    for tool in tools.tools:
        hints = tool.annotations
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint)
        assert tool.output_schema and tool.input_schema["type"] == "object"
        if tool.name in READ_TOOLS:
            assert hints.read_only_hint and not hints.destructive_hint and hints.idempotent_hint
        else:
            assert not hints.read_only_hint
            assert "confirm" in tool.input_schema["properties"]
    assert by_name["restart_channel"].annotations.destructive_hint is True
    assert by_name["restart_channel"].annotations.idempotent_hint is False
    assert by_name["stop_channel"].annotations.destructive_hint is True
    assert by_name["start_channel"].annotations.destructive_hint is False
    assert by_name["failover_plan"].annotations.open_world_hint is True
    assert by_name["get_channel_status"].input_schema["required"] == ["channel"]


def test_each_read_tool_answers_what_the_simulator_holds(synced, viewer):
    _, r = call(
        mcp_server_build(ServerOptions(username="viewer")),
        ("get_full_status", {}),
        ("list_channels", {"status": "RUNNING"}),
        ("get_channel_status", {"channel": "channel-kbo-001"}),
        ("get_input_status", {"channel": "channel-kbo-001"}),
        ("list_schedules", {"days": 7}),
        ("get_upcoming_schedules", {"limit": 5}),
        ("list_streampackage_channels", {}),
        ("list_css_streams", {}),
        ("failover_audit", {}),
        ("failover_plan", {"channel": "channel-kbo-002"}),
        ("daily_report", {"date": ""}),
        ("get_kpis", {"days": 7}),
        ("list_error_incidents", {"state": "open"}),
    )
    for name, result in r.items():
        assert not result.is_error, (name, result.content)
        assert result.structured_content is not None and result.content[0].text, name
    full = r["get_full_status"].structured_content
    assert full["streamlive_by_state"] == {"RUNNING": 6, "IDLE": 6}
    assert full["attention"] == 3 and len(full["channels"]) == 12
    running = r["list_channels"].structured_content
    assert running["count"] == 6 and {c["state"] for c in running["channels"]} == {"RUNNING"}
    status = r["get_channel_status"].structured_content
    assert (
        status["channel_id"] == "69220B6482B6EAF453CC"
        and status["cause"] == "All services healthy."
    )
    assert [x["service"] for x in status["lines"]][:2] == ["StreamLive", "StreamLink"]
    inputs = r["get_input_status"].structured_content
    assert inputs["active_input"] == "MAIN" and len(inputs["attached_inputs"]) == 2
    audit = r["failover_audit"].structured_content
    assert audit["count"] == 12 and audit["unprotected"] == 5
    plan = r["failover_plan"].structured_content
    assert plan["channel"] == "channel-kbo-002" and plan["diff"][0].startswith(
        "channel channel-kbo-002"
    )
    assert r["list_schedules"].structured_content["count"] == 0
    assert r["list_error_incidents"].structured_content["count"] == 0
    packages = r["list_streampackage_channels"].structured_content
    assert packages["count"] >= 1
    assert all("****" in u or "key" not in u for p in packages["channels"] for u in p["input_urls"])
    css = r["list_css_streams"].structured_content
    assert css["count"] >= 1
    _, more = call(
        mcp_server_build(ServerOptions(username="viewer")),
        ("get_streampackage_status", {"channel": packages["channels"][0]["id"]}),
        ("get_css_stream_status", {"stream": css["streams"][0]["key"]}),
    )
    assert (
        more["get_streampackage_status"].structured_content["id"] == packages["channels"][0]["id"]
    )
    assert more["get_css_stream_status"].structured_content["key"] == css["streams"][0]["key"]


def test_a_bad_argument_is_an_error_result_that_says_why(synced, viewer):
    _, r = call(
        mcp_server_build(ServerOptions(username="viewer")),
        ("get_channel_status", {"channel": "nope"}),
        ("list_channels", {"status": "SIDEWAYS"}),
        ("list_schedules", {"days": 0}),
        ("daily_report", {"date": "yesterday"}),
    )
    assert all(x.is_error for x in r.values())
    assert "No channel named" in r["get_channel_status"].content[0].text
    assert "SIDEWAYS" in r["list_channels"].content[0].text


def test_the_text_is_in_the_callers_language(synced, viewer):
    from broadcastops.notify.models import NotifyProfile

    NotifyProfile.objects.create(user=viewer, language="ko")
    _, r = call(
        mcp_server_build(ServerOptions(username="viewer")),
        ("get_channel_status", {"channel": "channel-kbo-001"}),
    )
    result = r["get_channel_status"]
    assert "추정 원인" in result.content[0].text
    assert result.structured_content["cause"] != "All services healthy."


def test_a_viewer_cannot_restart(synced, viewer):
    _, r = call(
        mcp_server_build(ServerOptions(username="viewer")),
        ("restart_channel", {"channel": "channel-kbo-001", "confirm": True}),
    )
    result = r["restart_channel"]
    assert result.is_error and "permission_denied" in result.content[0].text
    assert not OperatorAction.objects.exists()


def test_read_only_lists_no_write_tool(synced, operator, settings):
    tools, _ = call(mcp_server_build(ServerOptions(username="operator", read_only=True)))
    assert {t.name for t in tools.tools} == READ_TOOLS
    settings.MCP_READ_ONLY = True
    tools, _ = call(mcp_server_build(ServerOptions(username="operator")))
    assert not {t.name for t in tools.tools} & set(WRITE_TOOLS)


def test_toolsets_pick_groups(synced, operator):
    tools, _ = call(
        mcp_server_build(ServerOptions(username="operator", toolsets=("ivs", "errors")))
    )
    assert {t.name for t in tools.tools} == {"get_show_status", "list_error_incidents"}


def test_a_write_without_confirm_is_a_dry_run_with_the_guards(synced, operator):
    from broadcastops import registry

    def on_air(target, verb):
        return f"{target.name} is on air until 22:00." if verb == "stop" else None

    with registry.ACTION_GUARDS.registered(on_air):
        _, r = call(
            mcp_server_build(ServerOptions(username="operator")),
            ("stop_channel", {"channel": "channel-kbo-001"}),
            ("restart_channel", {"channel": "channel-kbo-001"}),
        )
    stop = r["stop_channel"].structured_content
    assert stop["dry_run"] and stop["status"] == "plan"
    assert stop["guards"] == ["channel-kbo-001 is on air until 22:00."]
    assert stop["plan"][0].startswith("Stop channel-kbo-001 (now RUNNING)")
    assert "confirm: true" in r["stop_channel"].content[0].text
    assert r["restart_channel"].structured_content["guards"] == []
    assert not OperatorAction.objects.exists()


def test_a_confirmed_restart_runs_through_the_action_engine(synced, operator):
    _, r = call(
        mcp_server_build(ServerOptions(username="operator")),
        ("restart_channel", {"channel": "channel-kbo-001", "confirm": True}),
    )
    body = r["restart_channel"].structured_content
    assert not r["restart_channel"].is_error, r["restart_channel"].content
    assert body["status"] == "begun" and not body["dry_run"]
    action = OperatorAction.objects.get(pk=body["action_id"])
    assert action.origin == "mcp" and action.actor == operator
    assert action.origin_ref.startswith("MCP client")
    actions_run_pending()
    action.refresh_from_db()
    assert action.status == "succeeded", action.outcome
    calls = [r["action"] for r in synced.requests("mdl") if r["action"][:4] in ("Stop", "Star")]
    assert calls == ["StopStreamLiveChannel", "StartStreamLiveChannel"]


def test_a_confirmed_stop_then_start_each_run_once_on_the_simulator(synced, operator):
    server = mcp_server_build(ServerOptions(username="operator"))
    for tool, expected in (
        ("stop_channel", ["StopStreamLiveChannel"]),
        ("start_channel", ["StopStreamLiveChannel", "StartStreamLiveChannel"]),
    ):
        _, r = call(server, (tool, {"channel": "channel-kbo-001", "confirm": True}))
        body = r[tool].structured_content
        assert not r[tool].is_error and body["status"] == "begun", r[tool].content
        actions_run_pending()
        action = OperatorAction.objects.get(pk=body["action_id"])
        assert action.status == "succeeded" and action.origin == "mcp", action.outcome
        calls = [e["action"] for e in synced.requests("mdl") if e["action"][:4] in ("Stop", "Star")]
        assert calls == expected


def test_create_schedule_plans_then_creates_and_refuses_an_overlap(synced, operator):
    starts = timezone.localtime() + timedelta(hours=3)
    args = {
        "channel": "channel-news-001",
        "title": "긴급 편성",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "assignee": "operator",
    }
    _, r = call(
        mcp_server_build(ServerOptions(username="operator")),
        ("create_schedule", args),
    )
    assert r["create_schedule"].structured_content["status"] == "plan"
    assert not Schedule.objects.exists()
    server = mcp_server_build(ServerOptions(username="operator"))
    _, first = call(server, ("create_schedule", {**args, "confirm": True}))
    body = first["create_schedule"].structured_content
    assert body["status"] == "created"
    schedule = Schedule.objects.get(pk=body["schedule_ids"][0])
    assert schedule.created_by == operator and schedule.assignee == operator
    _, again = call(server, ("create_schedule", {**args, "confirm": True}))
    assert again["create_schedule"].is_error
    assert Schedule.objects.count() == 1


def _elicit_client(server, answer: str, seen: list):
    from mcp_types import ElicitResult

    async def on_elicit(context, params):
        seen.append(params.message)
        content = {"confirm": True} if answer == "accept" else None
        return ElicitResult(action=answer, content=content)

    return Client(server, elicitation_callback=on_elicit, mode="legacy")


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_a_client_that_can_elicit_is_asked_before_the_write(synced, operator, answer):
    seen: list = []

    async def go():
        server = mcp_server_build(ServerOptions(username="operator"))
        async with _elicit_client(server, answer, seen) as client:
            result = await client.call_tool(
                "stop_channel", {"channel": "channel-kbo-002", "confirm": True}
            )
        await close_connections()
        return result

    result = run(go())
    assert seen and seen[0].startswith("Stop channel-kbo-002")
    body = result.structured_content
    if answer == "accept":
        assert body["status"] == "begun" and OperatorAction.objects.count() == 1
    else:
        assert body["status"] == "cancelled" and not OperatorAction.objects.exists()


def test_get_show_status_answers_the_stages_on_the_simulator(synced, viewer):
    from broadcastops.actions.types import Actor
    from ivs_scaling.services.shows import ShowSpec, show_create

    show_create(spec=ShowSpec(name="quiz", capacity=4, scale_up_threshold=3), actor=Actor())
    actions_run_pending()
    _, r = call(
        mcp_server_build(ServerOptions(username="viewer")), ("get_show_status", {"show": "quiz"})
    )
    body = r["get_show_status"].structured_content
    assert not r["get_show_status"].is_error, r["get_show_status"].content
    assert body["name"] == "quiz" and body["viewers"] == 0
    assert [s["role"] for s in body["stages"]] == ["master"]
    assert len(synced.requests(None, "CreateStage")) == 1


def test_every_call_is_logged_with_the_user_the_arguments_and_the_outcome(synced, viewer, caplog):
    with caplog.at_level("INFO", logger="assistant.mcp.server"):
        call(
            mcp_server_build(ServerOptions(username="viewer")),
            ("get_channel_status", {"channel": "channel-kbo-001"}),
            ("restart_channel", {"channel": "channel-kbo-001", "confirm": True}),
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "assistant.mcp.server"]
    assert "MCP get_channel_status by viewer args={'channel': 'channel-kbo-001'}: ok" in lines
    assert any(
        line.startswith("MCP restart_channel by viewer args=")
        and "refused permission_denied" in line
        for line in lines
    ), lines
