import contextlib

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "broadcastops.inventory"
    label = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from broadcastops.inventory.metrics import InventoryCollector

        with contextlib.suppress(ValueError):  # already registered: ready() ran before
            REGISTRY.register(InventoryCollector())
