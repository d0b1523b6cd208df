from django.apps import AppConfig


class ErrorlogsConfig(AppConfig):
    name = "errorlogs"
    label = "errorlogs"
    verbose_name = "Player errors"
