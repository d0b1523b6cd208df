"""Who may read the notifications in the admin; see broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import read_only_admin


def _notification():
    from broadcastops.notify.models import Notification

    return Notification.objects.create(
        event="channel.failover", subject="authz", dedup_key="authz", severity="warning", title="t"
    )


ADMIN_MODELS = {"notify.notification": read_only_admin()}
SAMPLES = {"notify.notification": _notification}
