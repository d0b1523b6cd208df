import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from broadcastops.inventory.services.sync import inventory_poll


class Command(BaseCommand):
    help = "Poll StreamLive, StreamLink, StreamPackage and CSS into the inventory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one full poll, then exit")

    def _poll(self, full: bool) -> None:
        report = inventory_poll(full=full)
        if report.skipped:
            self.stdout.write("Skipped: another poll is running.")
            return
        errors = "; ".join(f"{k}: {v}" for k, v in report.errors.items()) or "none"
        self.stdout.write(
            f"{report.channels} channels, {report.details} detailed, {report.changed} changed, "
            f"{report.events} events, {report.writes} writes in {report.duration_s:.2f} s; "
            f"errors: {errors}"
        )

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        if once:
            self._poll(full=True)
            return
        # Without beat (debugging): the same cadence in the foreground until Ctrl-C.
        try:
            while True:
                started = time.monotonic()
                self._poll(full=False)
                elapsed = time.monotonic() - started
                time.sleep(max(0.0, settings.INVENTORY_ON_AIR_INTERVAL_S - elapsed))
        except KeyboardInterrupt:
            pass
