"""``daily_report [--date YYYY-MM-DD] [--format text|markdown|json]``: one local day's
broadcasts, failovers and incidents (default: today)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from scheduling.reports import FORMATS, daily_report_get, daily_report_render


class Command(BaseCommand):
    help = "Print one day's broadcast report (broadcasts, failovers, incidents)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="the local day, YYYY-MM-DD (default: today)")
        parser.add_argument("--format", choices=FORMATS, default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = options["date"]
        try:
            day = parse_date(raw) if raw else timezone.localdate()
        except ValueError:
            day = None
        if day is None:
            raise CommandError(_("The date must be YYYY-MM-DD, e.g. 2026-12-01."))
        report = daily_report_get(day=day)
        self.stdout.write(daily_report_render(report=report, fmt=options["format"]), ending="")
