import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from broadcastops.errors import NotFound
from broadcastops.i18n import MessageKind, choice_message, cli_language, language_argument_add
from broadcastops.inventory import messages as m
from broadcastops.inventory.diagnosis import Diagnosis
from broadcastops.inventory.selectors import channel_get, channel_status_get, status_get


def _counts(values: dict[str, int], kinds: dict[str, MessageKind]) -> str:
    return ", ".join(f"{choice_message(kinds, k)} {n}" for k, n in values.items()) or "-"


def _render(diagnosis: Diagnosis) -> str:
    lines = [f"{diagnosis.channel_name} ({diagnosis.channel_id}): {diagnosis.health_label}"]
    for line in diagnosis.lines:
        lines.append(f"  {'✅' if line.ok else '❌'} {line.service}: {line.text}")
    if diagnosis.attention:
        reasons = "; ".join(r.render() for r in diagnosis.attention)
        lines.append("  ⚠️  " + _("Needs attention: %(reasons)s") % {"reasons": reasons})
    lines.append("  " + _("Probable cause: %(cause)s") % {"cause": diagnosis.cause})
    for n, action in enumerate(diagnosis.actions, start=1):
        lines.append(f"    {n}. {action}")
    if diagnosis.failovers_24h or diagnosis.last_failover_at:
        last = (
            timezone.localtime(diagnosis.last_failover_at).strftime("%Y-%m-%d %H:%M:%S %Z")
            if diagnosis.last_failover_at
            else "-"
        )
        lines.append(
            "  "
            + _("Failovers in 24 h: %(count)s (last %(last)s)")
            % {"count": diagnosis.failovers_24h, "last": last}
        )
    return "\n".join(lines)


class Command(BaseCommand):
    help = "The full status of one channel or all: per service, probable cause, what to do."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", help="name, cloud id or database id")
        parser.add_argument("--json", action="store_true")
        language_argument_add(parser)

    def handle(self, *args: Any, channel: str | None, **options: Any) -> None:
        language = cli_language(options.get("language"))
        with translation.override(language):
            self._handle(channel, as_json=options["json"])

    def _handle(self, channel: str | None, *, as_json: bool) -> None:
        if channel:
            try:
                diagnoses = [channel_status_get(channel=channel_get(key=channel))]
            except NotFound as exc:
                raise CommandError(exc.message) from exc
            summary = None
        else:
            report = status_get()
            diagnoses, summary = report.channels, report.summary
        if as_json:
            body: dict[str, Any] = {"channels": [d.as_dict() for d in diagnoses]}
            if summary is not None:
                body["summary"] = summary
            self.stdout.write(_dumps(body))
            return
        if summary is not None:
            self._summary(summary)
        for diagnosis in diagnoses:
            self.stdout.write(_render(diagnosis) + "\n")

    def _summary(self, summary: dict[str, Any]) -> None:
        live = summary["streamlive"]
        self.stdout.write(
            "StreamLive: "
            + _counts(live["by_state"], m.CHANNEL_STATE)
            + "  "
            + _("inputs: %(counts)s") % {"counts": _counts(live["by_input"], m.INPUT)}
            + "  StreamLink: "
            + _counts(summary["streamlink"]["by_state"], m.FLOW_STATE)
            + "  CSS: "
            + _counts(summary["css"]["by_state"], m.CSS_STATE)
        )
        self.stdout.write(
            _("Needing attention: %(count)s; failovers in 24 h: %(failovers)s")
            % {"count": summary["attention"], "failovers": summary["failovers_24h"]}
        )
        for service in summary["services"]:
            if service["stale_since"]:
                since = timezone.localtime(service["stale_since"]).strftime("%Y-%m-%d %H:%M:%S")
                self.stdout.write(
                    "❌ "
                    + _("%(service)s unreachable since %(since)s: %(error)s")
                    % {"service": service["name"], "since": since, "error": service["last_error"]}
                )
        self.stdout.write("")


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
