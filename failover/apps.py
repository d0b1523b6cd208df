from django.apps import AppConfig


class FailoverConfig(AppConfig):
    name = "failover"
    label = "failover"
    verbose_name = "Input failover"
