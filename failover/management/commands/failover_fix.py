import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from broadcastops.actions.cli import action_follow_print, add_wait_arguments, command_actor
from broadcastops.actions.selectors import action_outcome
from broadcastops.errors import ApplicationError
from broadcastops.inventory.selectors import channel_get
from failover.audit import DEFAULT_LOSS_THRESHOLD_MS, DEFAULT_RECOVER_BEHAVIOR, RECOVER_BEHAVIORS
from failover.services import failover_apply, failover_plan


class Command(BaseCommand):
    help = (
        "Repair a channel's StreamLive input failover: shows the plan (a dry run) unless --apply. "
        "Only FailOverSettings of the primary input change; everything else is sent back as read. "
        "With --apply it waits for the fix (run by the Celery worker) and prints its progress."
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
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        params = {
            "secondary_input_id": options["secondary"],
            "primary_input_id": options["primary"],
            "loss_threshold_ms": options["loss_threshold_ms"],
            "recover_behavior": options["recover_behavior"],
        }
        actor = command_actor(options["user"])
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
            action = failover_apply(
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
        final = action_follow_print(self, action, options=options)
        if final is None:  # --no-wait
            return
        result = {**final.result, "action_id": final.pk, "message": action_outcome(final)}
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{str(result.get('status', final.status)).upper()}: {result['message']}")
