from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FailoverConfig(AppConfig):
    name = "failover"
    label = "failover"
    verbose_name = _("Input failover")

    def ready(self) -> None:
        from broadcastops.inventory.services.sync import after_poll_register
        from failover import messages  # noqa: F401  (stored messages' codes; see inventory.apps)
        from failover.services import failover_audit_after_poll

        # The audit runs after every inventory poll, on the rows the poll just wrote.
        after_poll_register(failover_audit_after_poll)
