import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from broadcastops.cloud.simulator.server import (
    SimOptions,
    Simulator,
    SimulatorServer,
    load_scenario,
)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Serve the bundled cloud simulator: Tencent Cloud API 3.0 (mdl, mdc, mdp, live) and "
        "the IVS real-time API on one loopback port, with the control API under /_sim/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
        parser.add_argument("--port", type=int, default=settings.CLOUDSIM_PORT)
        parser.add_argument("--scenario", help="initial state (JSON); default: the demo")
        parser.add_argument("--latency-ms", type=int, default=0)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--start-delay-s", type=float, default=SimOptions.start_delay_s)
        parser.add_argument(
            "--modify-running",
            action="store_true",
            help="accept ModifyStreamLiveChannel on a RUNNING channel (default: refuse)",
        )
        parser.add_argument("--no-rate-limit", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not ipaddress.ip_address(opts["host"]).is_loopback:
            raise CommandError("cloudsim serves loopback addresses only (127.0.0.0/8, ::1)")
        try:
            scenario = load_scenario(opts["scenario"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot load the scenario: {exc}") from exc
        sim = Simulator(
            scenario=scenario,
            options=SimOptions(
                seed=opts["seed"],
                start_delay_s=opts["start_delay_s"],
                modify_running_allowed=opts["modify_running"],
                rate_limit=not opts["no_rate_limit"],
            ),
        )
        sim.latency_ms = opts["latency_ms"]
        try:
            server = SimulatorServer((opts["host"], opts["port"]), sim)
        except OSError as exc:
            raise CommandError(f"cannot listen on {opts['host']}:{opts['port']}: {exc}") from exc
        self.stdout.write(f"cloudsim listening on {server.url} ({opts['scenario'] or 'demo'})")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
