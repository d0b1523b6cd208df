"""Who may read the notifications and the notification settings in the admin; see
broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import ADMIN, VIEWER, read_only_admin


def _notification():
    from broadcastops.notify.models import Notification

    return Notification.objects.create(
        event="channel.failover", subject="authz", dedup_key="authz", severity="warning", title="t"
    )


def _profile():
    from django.contrib.auth import get_user_model

    from broadcastops.notify.models import NotifyProfile

    user, _ = get_user_model().objects.get_or_create(username="authz-notify")
    return NotifyProfile.objects.get_or_create(user=user, defaults={"slack_user_id": "U0AUTHZ1"})[0]


ROUTES = {
    # Each signed-in person with a role reads and changes their own settings (nobody else's).
    "admin:notify_notifyprofile_mine": {"GET": VIEWER, "POST": VIEWER},
}
ADMIN_MODELS = {
    "notify.notification": read_only_admin(),
    # Everyone's settings: Admins only.
    "notify.notifyprofile": {"view": ADMIN, "add": ADMIN, "change": ADMIN, "delete": ADMIN},
}
SAMPLES = {"notify.notification": _notification, "notify.notifyprofile": _profile}
