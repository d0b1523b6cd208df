from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from broadcastops.accounts.services import admin_ensure


class Command(BaseCommand):
    help = "Create the first administrator (once) and print its password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        password = admin_ensure(username=username)
        if password is None:
            self.stdout.write("An administrator account exists; keeping it.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                "\nCreated the administrator account (shown once, keep it safe):\n"
                f"  user name: {username}\n  password:  {password}\n"
            )
        )
