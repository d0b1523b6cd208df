import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from broadcastops.i18n import cli_language, language_argument_add
from broadcastops.inventory.services.sync import inventory_poll


class Command(BaseCommand):
    help = "Poll StreamLive, StreamLink, StreamPackage and CSS into the inventory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one full poll, then exit")
        language_argument_add(parser)

    def _poll(self, full: bool) -> None:
        report = inventory_poll(full=full)
        if report.skipped:
            self.stdout.write(_("Skipped: another poll is running."))
            return
        errors = "; ".join(f"{k}: {v}" for k, v in report.errors.items()) or _("none")
        self.stdout.write(
            _(
                "%(channels)s channels, %(details)s detailed, %(changed)s changed, %(events)s "
                "events, %(writes)s writes in %(seconds).2f s; errors: %(errors)s"
            )
            % {
                "channels": report.channels,
                "details": report.details,
                "changed": report.changed,
                "events": report.events,
                "writes": report.writes,
                "seconds": report.duration_s,
                "errors": errors,
            }
        )

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        language = cli_language(options.get("language"))
        with translation.override(language):
            self._run(once=once)

    def _run(self, *, once: bool) -> None:
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
