from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FailoverConfig(AppConfig):
    name = "failover"
    label = "failover"
    verbose_name = _("Input failover")

    def ready(self) -> None:
        from broadcastops import registry
        from failover import messages  # noqa: F401  (stored messages' codes; see inventory.apps)
        from failover.admin import failover_column, fix_input_failover
        from failover.services import failover_audit_after_poll, failover_fix_run

        # The audit runs after every inventory poll, on the rows the poll just wrote.
        registry.AFTER_POLL.register(failover_audit_after_poll)
        # A fix's verification (and stop -> modify -> start) runs in the action engine.
        registry.ACTION_RUNNERS.register(failover_fix_run, key="channel.failover_fix")
        # The verdict column and the "Fix input failover" action on the channel list.
        registry.CHANNEL_ADMIN_COLUMNS.register(failover_column)
        registry.CHANNEL_ADMIN_ACTIONS.register(fix_input_failover)
