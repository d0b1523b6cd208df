import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from broadcastops.i18n import choice_message, cli_language, language_argument_add
from failover import messages as m
from failover.audit import ChannelVerdict
from failover.models import Verdict
from failover.services import failover_audit_run

MARK = {Verdict.OK: "✅", Verdict.PENDING: "⏳"}


def _render(verdict: ChannelVerdict) -> str:
    d = verdict.to_dict()
    mark = MARK.get(d["verdict"], "❌")
    label = choice_message(m.VERDICT, d["verdict"])
    lines = [f"{mark} {d['name']} ({d['channel_id']}, {d['state']}): {label} [{d['verdict']}]"]
    lines.append(f"   {d['reason']}")
    mapping = d["mapping"]
    if d["primary_input_id"] or d["backup_input_id"]:
        lines.append(
            "   "
            + _("primary %(primary)s / backup %(backup)s — %(basis)s (%(confidence)s)")
            % {
                "primary": d["primary_input_id"] or "?",
                "backup": d["backup_input_id"] or "?",
                "basis": mapping["basis"] or "-",
                "confidence": choice_message(m.CONFIDENCE, mapping["confidence"]),
            }
        )
    if d["verdict"] != Verdict.OK:
        for i in d["inputs"]:
            label = choice_message(m.VERDICT, i["verdict"])
            lines.append(f"   - {i['input_id']} {i['name']} [{i['role'] or '-'}]: {label}")
        if d["causes"]:
            lines.append("   " + _("Likely causes") + ":")
            lines.extend(f"     • {c}" for c in d["causes"])
        if d["steps"]:
            lines.append("   " + _("What to do") + ":")
            lines.extend(f"     {n}. {s}" for n, s in enumerate(d["steps"], start=1))
    lines.extend(f"   ⚠️  {n}" for n in d["notes"])
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Audit StreamLive input failover of every channel: a verdict per channel and input, "
        "the MAIN/BACKUP mapping from StreamLink flows, likely causes and the console steps."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--no-sync",
            action="store_true",
            help="audit the inventory as last polled, without polling the cloud first",
        )
        parser.add_argument("--unprotected", action="store_true", help="only channels not OK")
        language_argument_add(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        language = cli_language(options.get("language"))
        verdicts = failover_audit_run(sync=not options["no_sync"])
        if options["unprotected"]:
            verdicts = [v for v in verdicts if not v.protected]
        with translation.override(language):
            if options["json"]:
                body = {"channels": [v.to_dict() for v in verdicts]}
                self.stdout.write(json.dumps(body, indent=2, ensure_ascii=False))
                return
            for verdict in verdicts:
                self.stdout.write(_render(verdict))
            unprotected = sum(1 for v in verdicts if not v.protected)
            self.stdout.write(
                "\n"
                + _("%(count)s channels, %(unprotected)s without effective failover.")
                % {"count": len(verdicts), "unprotected": unprotected}
            )
