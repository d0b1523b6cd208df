import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from broadcastops.errors import NotFound
from broadcastops.inventory.diagnosis import Diagnosis
from broadcastops.inventory.selectors import (
    channel_get,
    channel_status_get,
    status_list,
    summary_get,
)


def _render(diagnosis: Diagnosis) -> str:
    lines = [f"{diagnosis.channel_name} ({diagnosis.channel_id}): {diagnosis.health.upper()}"]
    for line in diagnosis.lines:
        lines.append(f"  {'✅' if line.ok else '❌'} {line.service}: {line.facts}")
    for warning in diagnosis.warnings:
        lines.append(f"  ⚠️  {warning}")
    lines.append(f"  Probable cause: {diagnosis.cause}")
    for n, action in enumerate(diagnosis.actions, start=1):
        lines.append(f"    {n}. {action}")
    if diagnosis.failovers_24h or diagnosis.last_failover_at:
        last = (
            timezone.localtime(diagnosis.last_failover_at).strftime("%Y-%m-%d %H:%M:%S %Z")
            if diagnosis.last_failover_at
            else "-"
        )
        lines.append(f"  Failovers in 24 h: {diagnosis.failovers_24h} (last {last})")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "The full status of one channel or all: per service, probable cause, what to do."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", help="name, cloud id or database id")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, channel: str | None, **options: Any) -> None:
        if channel:
            try:
                diagnoses = [channel_status_get(channel=channel_get(key=channel))]
            except NotFound as exc:
                raise CommandError(exc.message) from exc
            summary = None
        else:
            diagnoses = status_list()
            summary = summary_get()
        if options["json"]:
            body: dict[str, Any] = {"channels": [d.as_dict() for d in diagnoses]}
            if summary is not None:
                body["summary"] = summary
            self.stdout.write(_dumps(body))
            return
        if summary is not None:
            live = summary["streamlive"]
            self.stdout.write(
                f"StreamLive: {live['by_state']}  inputs: {live['by_input']}  "
                f"StreamLink: {summary['streamlink']['by_state']}  "
                f"CSS: {summary['css']['by_state']}"
            )
            self.stdout.write(
                f"Needing attention: {summary['attention']}; failovers in 24 h: "
                f"{summary['failovers_24h']}"
            )
            for service in summary["services"]:
                if service["stale_since"]:
                    self.stdout.write(
                        f"❌ {service['name']} unreachable since {service['stale_since']}: "
                        f"{service['last_error']}"
                    )
            self.stdout.write("")
        for diagnosis in diagnoses:
            self.stdout.write(_render(diagnosis) + "\n")


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
