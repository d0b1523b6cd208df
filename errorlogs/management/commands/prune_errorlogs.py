"""``prune_errorlogs --days N``: remove old player error reports and their files."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from errorlogs.services import errorlogs_prune


class Command(BaseCommand):
    help = (
        "Remove error reports, groups, incidents and probe results older than N days; "
        "gzip, then remove, old JSON Lines files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=settings.ERRORLOGS_RETENTION_DAYS,
            help="keep this many days",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days < 1:
            self.stderr.write(_("--days must be at least 1."))
            raise SystemExit(2)
        result = errorlogs_prune(days=days)
        self.stdout.write(
            _(
                "Removed %(reports)d reports, %(groups)d groups, %(incidents)d incidents and "
                "%(probes)d probe results; gzipped %(compressed)d files and removed %(removed)d."
            )
            % {
                "reports": result.reports,
                "groups": result.groups,
                "incidents": result.incidents,
                "probes": result.probes,
                "compressed": result.files_compressed,
                "removed": result.files_removed,
            }
        )
