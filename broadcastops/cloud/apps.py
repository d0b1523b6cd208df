from django.apps import AppConfig


class CloudConfig(AppConfig):
    name = "broadcastops.cloud"
    label = "cloud"
    verbose_name = "Cloud gateways"
