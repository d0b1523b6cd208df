"""``manage.py mcp_server``: the MCP server for AI assistants, over stdio (as ``--user``) or
streamable HTTP (``--http``: its own process; DRF tokens as bearer tokens)."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from assistant.mcp.server import TOOLSETS, ServerOptions, mcp_server_build


class Command(BaseCommand):
    help = "Serve the console's MCP tools over stdio (--user) or streamable HTTP (--http)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="stdio: the console user the assistant acts as")
        parser.add_argument("--http", action="store_true", help="serve streamable HTTP instead")
        parser.add_argument("--host", default=None, help="HTTP: address (MCP_HTTP_HOST)")
        parser.add_argument("--port", type=int, default=None, help="HTTP: port (MCP_HTTP_PORT)")
        parser.add_argument("--read-only", action="store_true", help="list no write tool")
        parser.add_argument(
            "--toolsets",
            default=",".join(TOOLSETS),
            help=f"comma-separated groups among {', '.join(TOOLSETS)}",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        toolsets = tuple(t.strip() for t in options["toolsets"].split(",") if t.strip())
        unknown = sorted(set(toolsets) - set(TOOLSETS))
        if unknown or not toolsets:
            raise CommandError(
                _("Unknown toolsets %(unknown)s; choose among %(known)s.")
                % {"unknown": ", ".join(unknown) or "-", "known": ", ".join(TOOLSETS)}
            )
        if options["http"]:
            self._http(toolsets, options)
            return
        name = options["user"]
        if not name:
            raise CommandError(
                _("--user NAME is required for stdio (the console user it acts as).")
            )
        if not get_user_model().objects.filter(username=name, is_active=True).exists():
            raise CommandError(_("No active console user %(name)s.") % {"name": name})
        server = mcp_server_build(
            ServerOptions(username=name, read_only=options["read_only"], toolsets=toolsets)
        )
        server.run("stdio")  # stdout is the protocol: the logs go to stderr

    def _http(self, toolsets: tuple[str, ...], options: dict[str, Any]) -> None:
        from mcp.server.auth.settings import AuthSettings
        from mcp.server.transport_security import TransportSecuritySettings
        from pydantic import AnyHttpUrl

        from assistant.mcp.auth import DrfTokenVerifier

        host = options["host"] or settings.MCP_HTTP_HOST
        port = options["port"] or settings.MCP_HTTP_PORT
        url = f"http://{host}:{port}"
        server = mcp_server_build(
            ServerOptions(read_only=options["read_only"], toolsets=toolsets, http=True),
            token_verifier=DrfTokenVerifier(),
            auth=AuthSettings(
                issuer_url=AnyHttpUrl(url), resource_server_url=AnyHttpUrl(f"{url}/mcp")
            ),
        )
        self.stderr.write(
            _("MCP streamable HTTP on %(url)s (bearer: a console API token)")
            % {"url": f"{url}/mcp"}
        )
        server.run(
            "streamable-http",
            host=host,
            port=port,
            transport_security=TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=list(settings.MCP_ALLOWED_HOSTS),
                allowed_origins=list(settings.MCP_ALLOWED_ORIGINS),
            ),
        )
