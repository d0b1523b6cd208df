import contextlib

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "broadcastops.inventory"
    label = "inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        # Stored messages render only once their codes are defined: define them in every
        # process (web, worker, commands), whatever it imports first.
        from broadcastops.inventory import messages  # noqa: F401
        from broadcastops.inventory.metrics import InventoryCollector

        with contextlib.suppress(ValueError):  # already registered: ready() ran before
            REGISTRY.register(InventoryCollector())
