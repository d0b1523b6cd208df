import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from broadcastops.errors import ApplicationError
from broadcastops.inventory.selectors import channel_get
from failover.audit import DEFAULT_LOSS_THRESHOLD_MS, DEFAULT_RECOVER_BEHAVIOR, RECOVER_BEHAVIORS
from failover.services import failover_apply, failover_plan


class Command(BaseCommand):
    help = (
        "Repair a channel's StreamLive input failover: shows the plan (a dry run) unless --apply. "
        "Only FailOverSettings of the primary input change; everything else is sent back as read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channel", help="name, cloud id or database id")
        parser.add_argument("--secondary", help="the backup input id (default: from the flows)")
        parser.add_argument("--primary", help="the primary input id (default: from the flows)")
        parser.add_argument("--loss-threshold-ms", type=int, default=DEFAULT_LOSS_THRESHOLD_MS)
        parser.add_argument(
            "--recover-behavior", choices=RECOVER_BEHAVIORS, default=DEFAULT_RECOVER_BEHAVIOR
        )
        parser.add_argument("--apply", action="store_true", help="apply (default: dry run)")
        parser.add_argument(
            "--allow-stop-start",
            action="store_true",
            help="if StreamLive refuses to modify the running channel: stop, modify, start",
        )
        parser.add_argument(
            "--override", action="store_true", help="act even if a schedule has it on air"
        )
        parser.add_argument("--user", help="record the fix under this user (default: system)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        params = {
            "secondary_input_id": options["secondary"],
            "primary_input_id": options["primary"],
            "loss_threshold_ms": options["loss_threshold_ms"],
            "recover_behavior": options["recover_behavior"],
        }
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            channel = channel_get(key=options["channel"])
            if not options["apply"]:
                plan = failover_plan(channel=channel, **params)
                if options["json"]:
                    self.stdout.write(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
                    return
                self.stdout.write("\n".join(plan.diff_lines()))
                for note in plan.notes:
                    self.stdout.write(f"⚠️  {note}")
                self.stdout.write(
                    "Dry run: nothing changed. Repeat with --apply to apply."
                    if plan.has_changes
                    else "Nothing to change."
                )
                return
            result = failover_apply(
                channel=channel,
                actor=actor,
                allow_stop_start=options["allow_stop_start"],
                override=options["override"],
                **params,
            )
        except ApplicationError as exc:
            if exc.code == "stop_start_required":
                raise CommandError(
                    exc.message + " Repeat with --apply --allow-stop-start to do so."
                ) from exc
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
            return
        self.stdout.write("\n".join(result.plan.diff_lines()))
        self.stdout.write(f"{result.status.upper()}: {result.message}")
