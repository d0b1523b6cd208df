from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    label = "streaming"
    verbose_name = "Live monitoring"
