"""The MCP server for AI assistants (the official ``mcp`` SDK 2.x, ``MCPServer``).

Every tool has a typed input schema, a structured output (its ``outputSchema``) plus a short
sentence in the caller's language, and all three hints (read only, destructive, idempotent)
set honestly. The tools call the same selectors and services as the admin and the API; their
bodies (``reads``, ``writes``) are synchronous and run in a thread (the ORM).

Who calls: over stdio, the console user named by ``--user``; over HTTP, the console user whose
DRF token is the bearer token (``assistant.mcp.auth``). Read tools need a Viewer, writes an
Operator. Writes act only with ``confirm: true`` (else they answer their dry run), ask the
person through elicitation where the client can, and with ``MCP_APPROVAL=slack`` wait for an
Operator's Approve in Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext as _
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from assistant.mcp import outputs as o
from assistant.mcp import reads, writes
from assistant.selectors import user_language
from broadcastops.errors import ApplicationError, PermissionDenied
from broadcastops.i18n import language_active

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

TOOLSETS = ("status", "schedules", "failover", "errors", "ivs", "actions")

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# failover_plan reads the channel fresh from StreamLive: still no change anywhere.
READ_CLOUD = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
START = ToolAnnotations(  # a running channel counts as started: asking twice changes nothing
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
STOP = ToolAnnotations(  # off air until someone starts it; a stopped channel stays stopped
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
RESTART = ToolAnnotations(  # each call interrupts the picture again
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
CREATE = ToolAnnotations(  # a second call is refused as an overlap, not a second schedule
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)

WRITE_TOOLS = ("start_channel", "stop_channel", "restart_channel", "create_schedule")

Channel = Annotated[str, Field(description="channel name, StreamLive id or database id")]
Confirm = Annotated[bool, Field(description="false (default): only show the plan; true: act on it")]
Override = Annotated[
    bool, Field(description="act even though a schedule (or another guard) objects")
]


class ConfirmAnswer(BaseModel):
    """What the person answers when the server asks (elicitation)."""

    confirm: bool = Field(description="Go ahead?")


@dataclass(frozen=True)
class ServerOptions:
    """``username``: the console user of a stdio server (None: the HTTP bearer token's)."""

    username: str | None = None
    read_only: bool = False
    toolsets: Sequence[str] = TOOLSETS
    http: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _caller(options: ServerOptions, token_user_id: str | None) -> User:
    users = get_user_model().objects.filter(is_active=True)
    user = None
    if options.username is not None:
        user = users.filter(username=options.username).first()
    elif token_user_id and token_user_id.isdigit():
        user = users.filter(pk=int(token_user_id)).first()
    if user is None:
        raise PermissionDenied(_("No active console user behind this MCP session."))
    return user


def _client_name(ctx: Context | None) -> str:
    try:
        info = ctx.session.client_params.client_info if ctx is not None else None
    except (AttributeError, ValueError, RuntimeError):
        info = None
    name = getattr(info, "name", "") or ""
    return f"MCP client {name}".strip()


def _result(model: BaseModel, text: str, *, error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json"),
        is_error=error,
    )


def _token_subject() -> str | None:
    token = get_access_token()
    return token.subject if token is not None else None


async def _run(
    options: ServerOptions,
    tool: str,
    arguments: dict[str, Any],
    body: Callable[[User], tuple[Any, str]],
) -> tuple[User, Any, str]:
    """Run ``body`` as the caller, in the caller's language, in a thread; log the call."""
    subject = _token_subject()

    def run() -> tuple[User, Any, str]:
        user = None
        try:
            user = _caller(options, subject)
            with language_active(user_language(user)):
                model, text = body(user)
        except ApplicationError as exc:
            logger.info(
                "MCP %s by %s args=%s: refused %s (%s)",
                tool,
                user.get_username() if user else "-",
                arguments,
                exc.code,
                exc.message,
            )
            raise ToolError(f"{exc.code}: {exc.message}") from exc
        logger.info("MCP %s by %s args=%s: ok", tool, user.get_username(), arguments)
        return user, model, text

    return await sync_to_async(run, thread_sensitive=True)()


def mcp_server_build(options: ServerOptions | None = None, **kwargs: Any) -> MCPServer:
    """The server with the tools ``options`` allow (toolsets; no write tool when read only)."""
    options = options or ServerOptions()
    read_only = options.read_only or settings.MCP_READ_ONLY
    server = MCPServer(
        name="broadcastops",
        title="BroadcastOps",
        instructions=(
            "The BroadcastOps console: live channels on Tencent Cloud (StreamLive, StreamLink, "
            "StreamPackage, CSS), schedules, failover, player errors and IVS shows. Write tools "
            "answer with a plan unless called with confirm: true; show the plan to the person "
            "before confirming."
        ),
        **kwargs,
    )

    def add(
        fn: Callable[..., Any],
        *,
        toolset: str,
        annotations: ToolAnnotations,
        title: str,
        description: str,
    ) -> None:
        name = fn.__name__
        if toolset not in options.toolsets:
            return
        if read_only and name in WRITE_TOOLS:
            return
        server.add_tool(
            fn, name=name, title=title, description=description, annotations=annotations
        )

    async def read(
        tool: str, arguments: dict[str, Any], body: Callable[[User], tuple[Any, str]]
    ) -> CallToolResult:
        _user, model, text = await _run(options, tool, arguments, body)
        return _result(model, text)

    # --- status ---------------------------------------------------------------------------
    async def get_full_status() -> Annotated[CallToolResult, o.FullStatus]:
        return await read("get_full_status", {}, lambda u: reads.full_status())

    async def list_channels(
        status: Annotated[
            str,
            Field(
                description=(
                    'a state (RUNNING, IDLE, ...), MAIN, BACKUP, NONE, "attention" or "" for all'
                )
            ),
        ] = "",
    ) -> Annotated[CallToolResult, o.ChannelList]:
        return await read(
            "list_channels", {"status": status}, lambda u: reads.channels_list(status=status)
        )

    async def get_channel_status(channel: Channel) -> Annotated[CallToolResult, o.ChannelStatus]:
        return await read(
            "get_channel_status",
            {"channel": channel},
            lambda u: reads.channel_status(channel=channel),
        )

    async def get_input_status(channel: Channel) -> Annotated[CallToolResult, o.InputStatus]:
        return await read(
            "get_input_status", {"channel": channel}, lambda u: reads.input_status(channel=channel)
        )

    async def list_streampackage_channels() -> Annotated[CallToolResult, o.PackageList]:
        return await read("list_streampackage_channels", {}, lambda u: reads.packages_list(user=u))

    async def get_streampackage_status(
        channel: Annotated[str, Field(description="StreamPackage channel name or id")],
    ) -> Annotated[CallToolResult, o.PackageOut]:
        return await read(
            "get_streampackage_status",
            {"channel": channel},
            lambda u: reads.package_status(channel=channel, user=u),
        )

    async def list_css_streams(
        state: Annotated[
            str, Field(description='active, inactive, forbid, unknown or "" for all')
        ] = "",
    ) -> Annotated[CallToolResult, o.CssList]:
        return await read(
            "list_css_streams", {"state": state}, lambda u: reads.css_list(state=state)
        )

    async def get_css_stream_status(
        stream: Annotated[str, Field(description="stream name, app/stream or domain/app/stream")],
    ) -> Annotated[CallToolResult, o.CssOut]:
        return await read(
            "get_css_stream_status", {"stream": stream}, lambda u: reads.css_status(stream=stream)
        )

    for fn, title, description in (
        (
            get_full_status,
            "Full status",
            "Counts by state per service and every channel's status, needing attention first.",
        ),
        (
            list_channels,
            "List channels",
            "Live channels, optionally only one state, active input or those needing attention.",
        ),
        (
            get_channel_status,
            "Channel status",
            (
                "One channel across StreamLive, StreamLink, StreamPackage and CSS: the "
                "diagnosis, probable cause and what to do (as ops_status)."
            ),
        ),
        (
            get_input_status,
            "Input status",
            (
                "A channel's active input (MAIN/BACKUP), its attached inputs, failovers in "
                "24 h and the last failover event."
            ),
        ),
        (
            list_streampackage_channels,
            "StreamPackage channels",
            "StreamPackage channels with the live channels that feed them.",
        ),
        (
            get_streampackage_status,
            "StreamPackage channel",
            "One StreamPackage channel and its live channels' state.",
        ),
        (list_css_streams, "CSS streams", "CSS streams and whether they are pushed."),
        (get_css_stream_status, "CSS stream", "One CSS stream's state and its live channels."),
    ):
        add(fn, toolset="status", annotations=READ, title=title, description=description)

    # --- schedules ----------------------------------------------------------------------------
    async def list_schedules(
        days: Annotated[
            int, Field(ge=1, le=366, description="schedules starting within this many days")
        ] = 7,
    ) -> Annotated[CallToolResult, o.ScheduleList]:
        return await read(
            "list_schedules", {"days": days}, lambda u: reads.schedules_list(days=days)
        )

    async def get_upcoming_schedules(
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> Annotated[CallToolResult, o.ScheduleList]:
        return await read(
            "get_upcoming_schedules",
            {"limit": limit},
            lambda u: reads.schedules_upcoming(limit=limit),
        )

    async def daily_report(
        date: Annotated[
            str, Field(description='YYYY-MM-DD (the operators\' day); "" for today')
        ] = "",
    ) -> Annotated[CallToolResult, o.DailyReportOut]:
        return await read("daily_report", {"date": date}, lambda u: reads.daily_report(day=date))

    async def get_kpis(
        days: Annotated[int, Field(ge=1, le=366, description="the last this many days")] = 7,
    ) -> Annotated[CallToolResult, o.KpisOut]:
        return await read("get_kpis", {"days": days}, lambda u: reads.kpis(days=days))

    for fn, title, description in (
        (
            list_schedules,
            "List schedules",
            "Broadcast schedules that have not ended and start within the days given.",
        ),
        (get_upcoming_schedules, "Upcoming schedules", "What airs now and next."),
        (
            daily_report,
            "Daily report",
            "One day's broadcasts: completed, interrupted, missed, failovers, incidents.",
        ),
        (
            get_kpis,
            "KPIs",
            (
                "Availability, failover rate, MTTR and automation over the last days, "
                "overall and per channel."
            ),
        ),
    ):
        add(fn, toolset="schedules", annotations=READ, title=title, description=description)

    # --- failover, errors, IVS ---------------------------------------------------------------
    async def failover_audit() -> Annotated[CallToolResult, o.FailoverAuditOut]:
        return await read("failover_audit", {}, lambda u: reads.failover_audit())

    async def failover_plan(channel: Channel) -> Annotated[CallToolResult, o.FailoverPlanOut]:
        return await read(
            "failover_plan", {"channel": channel}, lambda u: reads.failover_plan(channel=channel)
        )

    async def list_error_incidents(
        state: Annotated[str, Field(description='open, resolved or "" for all')] = "open",
    ) -> Annotated[CallToolResult, o.IncidentList]:
        return await read(
            "list_error_incidents", {"state": state}, lambda u: reads.incidents(state=state)
        )

    async def get_show_status(
        show: Annotated[
            str, Field(description='IVS show name; "" for the one show that is on')
        ] = "",
    ) -> Annotated[CallToolResult, o.ShowStatusOut]:
        return await read("get_show_status", {"show": show}, lambda u: reads.show_status(show=show))

    add(
        failover_audit,
        toolset="failover",
        annotations=READ,
        title="Failover audit",
        description="Every channel's input-failover verdict (protected or not, and why).",
    )
    add(
        failover_plan,
        toolset="failover",
        annotations=READ_CLOUD,
        title="Failover plan",
        description=(
            "The repair of a channel's input failover as a before/after diff (reads "
            "StreamLive; changes nothing)."
        ),
    )
    add(
        list_error_incidents,
        toolset="errors",
        annotations=READ,
        title="Player-error incidents",
        description="Outages seen by viewers' players (MediaMTX), with the probe's verdict.",
    )
    add(
        get_show_status,
        toolset="ivs",
        annotations=READ,
        title="IVS show status",
        description="An IVS real-time show: viewers, stages, whether the publisher is publishing.",
    )

    # --- writes -------------------------------------------------------------------------------
    async def _gate(
        ctx: Context | None, tool: str, arguments: dict[str, Any], plan: o.WriteResult, user: User
    ) -> tuple[o.WriteResult | None, str | None]:
        """Elicitation and approval; (a refusal, None) or (None, the approver)."""
        if ctx is not None and _elicitation_supported(ctx):
            try:
                answer = await ctx.elicit("\n".join(plan.plan), ConfirmAnswer)
            except Exception:  # the transport has no way back (NoBackChannelError): rely on confirm
                logger.info("MCP %s: elicitation unavailable; confirm: true stands", tool)
            else:
                accepted = isinstance(answer, AcceptedElicitation) and answer.data.confirm
                if not accepted:
                    return plan.model_copy(update={"dry_run": True, "status": "cancelled"}), None
        if settings.MCP_APPROVAL != "slack":
            return None, None
        from assistant.approvals import approval_request, approval_wait

        client = _client_name(ctx)

        def ask() -> tuple[int, str, str | None]:
            try:
                approval = approval_request(
                    tool=tool, arguments=arguments, plan=plan.plan, user=user, client_name=client
                )
                decided = approval_wait(approval_id=approval.pk)
                return decided.pk, decided.status, decided.decided_slack_user or None
            finally:
                connection.close()  # a pool thread that waited minutes: no idle connection kept

        try:
            approval_id, status, approver = await sync_to_async(ask, thread_sensitive=False)()
        except ApplicationError as exc:
            raise ToolError(f"{exc.code}: {exc.message}") from exc
        logger.info("MCP %s approval %s: %s by %s", tool, approval_id, status, approver)
        if status != "approved":
            return plan.model_copy(
                update={"status": status, "approval_id": approval_id, "approved_by": approver}
            ), None
        return None, approver or ""

    async def channel_write(
        ctx: Context | None, tool: str, verb: str, channel: str, confirm: bool, override: bool
    ) -> CallToolResult:
        arguments = {"channel": channel, "confirm": confirm, "override": override}
        user, planned, _text = await _run(
            options,
            tool,
            arguments,
            lambda u: (
                writes.channel_plan(
                    tool=tool, verb=verb, channel=channel, override=override, user=u
                ),
                "",
            ),
        )
        plan = planned.result
        if not confirm:
            return _result(
                plan,
                "\n".join(plan.plan) + "\n" + _("Nothing was done: call again with confirm: true."),
            )
        refusal, approver = await _gate(ctx, tool, arguments, plan, user)
        if refusal is not None:
            return _result(refusal, _("Nothing was done: %(status)s.") % {"status": refusal.status})
        client = _client_name(ctx)
        _u, action, text = await _run(
            options,
            tool,
            arguments,
            lambda u: (
                (
                    a := writes.channel_act(
                        verb=verb,
                        channel_id=planned.channel_id,
                        override=override,
                        user=u,
                        client=client,
                        approved_by=approver,
                    )
                ),
                _("%(kind)s of %(name)s begun (action #%(id)s).")
                % {"kind": a.action, "name": a.target_name, "id": a.pk},
            ),
        )
        done = plan.model_copy(
            update={
                "dry_run": False,
                "status": "begun",
                "action_id": action.pk,
                "approved_by": approver,
            }
        )
        return _result(done, text)

    async def start_channel(
        channel: Channel, ctx: Context, confirm: Confirm = False, override: Override = False
    ) -> Annotated[CallToolResult, o.WriteResult]:
        return await channel_write(ctx, "start_channel", "start", channel, confirm, override)

    async def stop_channel(
        channel: Channel, ctx: Context, confirm: Confirm = False, override: Override = False
    ) -> Annotated[CallToolResult, o.WriteResult]:
        return await channel_write(ctx, "stop_channel", "stop", channel, confirm, override)

    async def restart_channel(
        channel: Channel, ctx: Context, confirm: Confirm = False, override: Override = False
    ) -> Annotated[CallToolResult, o.WriteResult]:
        return await channel_write(ctx, "restart_channel", "restart", channel, confirm, override)

    add(
        start_channel,
        toolset="actions",
        annotations=START,
        title="Start a channel",
        description=(
            "Start a StreamLive channel through the console's action engine (audited). "
            "Without confirm: true it only answers the plan and the guards."
        ),
    )
    add(
        stop_channel,
        toolset="actions",
        annotations=STOP,
        title="Stop a channel",
        description=(
            "Stop a StreamLive channel (it goes off air). Without confirm: true it only "
            "answers the plan and the guards."
        ),
    )
    add(
        restart_channel,
        toolset="actions",
        annotations=RESTART,
        title="Restart a channel",
        description=(
            "Stop and start a StreamLive channel (viewers lose the picture meanwhile). "
            "Without confirm: true it only answers the plan and the guards."
        ),
    )

    async def create_schedule(
        channel: Channel,
        title: Annotated[str, Field(min_length=1, max_length=200)],
        starts_at: Annotated[
            str, Field(description="ISO date and time; without an offset: the operators' time zone")
        ],
        ends_at: Annotated[
            str, Field(description="ISO date and time; without an offset: the operators' time zone")
        ],
        ctx: Context,
        assignee: Annotated[
            str, Field(description="console user name of the operator on duty")
        ] = "",
        auto_start: bool = False,
        auto_stop: bool = False,
        notes: Annotated[str, Field(max_length=2000)] = "",
        confirm: Confirm = False,
    ) -> Annotated[CallToolResult, o.WriteResult]:
        arguments = {
            "channel": channel,
            "title": title,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "assignee": assignee,
            "auto_start": auto_start,
            "auto_stop": auto_stop,
            "confirm": confirm,
        }

        def spec() -> writes.ScheduleSpec:
            return writes.schedule_spec(
                channel=channel,
                title=title,
                starts_at=starts_at,
                ends_at=ends_at,
                assignee=assignee,
                auto_start=auto_start,
                auto_stop=auto_stop,
                notes=notes,
            )

        user, plan, _t = await _run(
            options,
            "create_schedule",
            arguments,
            lambda u: (writes.schedule_plan(spec=spec(), user=u), ""),
        )
        if not confirm:
            return _result(
                plan,
                "\n".join(plan.plan) + "\n" + _("Nothing was done: call again with confirm: true."),
            )
        refusal, approver = await _gate(ctx, "create_schedule", arguments, plan, user)
        if refusal is not None:
            return _result(refusal, _("Nothing was done: %(status)s.") % {"status": refusal.status})
        _u, ids, text = await _run(
            options,
            "create_schedule",
            arguments,
            lambda u: (
                (i := writes.schedule_act(spec=spec(), user=u)),
                _("Schedule #%(id)s created.") % {"id": i[0]},
            ),
        )
        done = plan.model_copy(
            update={
                "dry_run": False,
                "status": "created",
                "schedule_ids": ids,
                "approved_by": approver,
            }
        )
        return _result(done, text)

    add(
        create_schedule,
        toolset="schedules",
        annotations=CREATE,
        title="Create a schedule",
        description=(
            "Add a broadcast schedule on a channel (overlaps refused). Without confirm: "
            "true it only answers the plan and the checks."
        ),
    )
    return server


def _elicitation_supported(ctx: Context) -> bool:
    try:
        capabilities = ctx.client_capabilities
    except (AttributeError, ValueError, RuntimeError):
        return False
    return bool(capabilities is not None and getattr(capabilities, "elicitation", None))
