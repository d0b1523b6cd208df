import contextlib

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "broadcastops.inventory"
    label = "inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from broadcastops import registry

        # Stored messages render only once their codes are defined: define them in every
        # process (web, worker, commands), whatever it imports first.
        from broadcastops.inventory import messages  # noqa: F401
        from broadcastops.inventory.metrics import InventoryCollector
        from broadcastops.inventory.services.actions import RUNNERS

        with contextlib.suppress(ValueError):  # already registered: ready() ran before
            REGISTRY.register(InventoryCollector())
        # Channel and flow actions run in the action engine's task (broadcastops.actions).
        for kind, runner in RUNNERS.items():
            registry.ACTION_RUNNERS.register(runner, key=kind)
