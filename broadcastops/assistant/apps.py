from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "broadcastops.assistant"
    label = "assistant"
    verbose_name = "Assistants"
