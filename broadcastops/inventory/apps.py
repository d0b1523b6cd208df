from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "broadcastops.inventory"
    label = "inventory"
    verbose_name = "Inventory"
