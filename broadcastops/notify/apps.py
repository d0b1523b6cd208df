from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "broadcastops.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # Stored messages render only once their codes are defined (see inventory.apps).
        from broadcastops.notify import messages  # noqa: F401
