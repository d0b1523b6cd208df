"""Who may use the failover audit and its fix; see broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import OPERATOR, VIEWER, read_only_admin


def _audit():
    from django.utils import timezone

    from broadcastops.inventory.models import LiveChannel
    from failover.models import FailoverAudit

    channel = LiveChannel.objects.create(
        cloud_id="authz-audited", name="authz-audited", state="IDLE"
    )
    now = timezone.now()
    return FailoverAudit.objects.create(
        channel=channel, verdict="OK", audited_at=now, changed_at=now
    )


ROUTES = {
    "failover-audit-list": VIEWER,
    "failover-audit-detail": VIEWER,
    "failover-plan": OPERATOR,
    "failover-apply": OPERATOR,
}
ADMIN_MODELS = {"failover.failoveraudit": read_only_admin()}
# Added to the channel list by failover/admin.py.
ADMIN_ACTIONS = {"inventory.livechannel.fix_input_failover": OPERATOR}
SAMPLES = {"failover.failoveraudit": _audit}
