from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "broadcastops.notify"
    label = "notify"
    verbose_name = "Notifications"
