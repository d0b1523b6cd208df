from django.apps import AppConfig


class FailoverConfig(AppConfig):
    name = "failover"
    label = "failover"
    verbose_name = "Input failover"

    def ready(self) -> None:
        from broadcastops.inventory.services.sync import after_poll_register
        from failover.services import failover_audit_after_poll

        # The audit runs after every inventory poll, on the rows the poll just wrote.
        after_poll_register(failover_audit_after_poll)
