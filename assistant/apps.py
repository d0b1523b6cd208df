from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "assistant"
    label = "assistant"
    verbose_name = "Assistants"
