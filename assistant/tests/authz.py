"""Who may use the assistants' endpoints, pages and admin; see broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import ADMIN, NO_ONE, SIGNED_IN, read_only_admin


def _approval():
    from datetime import timedelta

    from django.utils import timezone

    from assistant.models import Approval

    return Approval.objects.create(
        tool="restart_channel", expires_at=timezone.now() + timedelta(minutes=5)
    )


def _profile():
    from django.contrib.auth import get_user_model

    from broadcastops.notify.models import NotifyProfile

    user = get_user_model().objects.get_or_create(username="authz-profile")[0]
    return NotifyProfile.objects.get_or_create(user=user)[0]


ROUTES = {
    # Slack signs these (SLACK_SIGNING_SECRET): no console identity gets past the signature,
    # so the matrix's five identities are all refused with 401; only Slack is let in.
    "slack-commands": NO_ONE,
    "slack-interactions": NO_ONE,
    # Everyone with an account edits their own Slack id and notification settings.
    "assistant-profile": SIGNED_IN,
}
ADMIN_MODELS = {
    # A Slack id linked to a user lets that Slack account act as the user: Admins only.
    "notify.notifyprofile": {"view": ADMIN, "add": ADMIN, "change": ADMIN, "delete": ADMIN},
    "assistant.approval": read_only_admin(),
}
SAMPLES = {"notify.notifyprofile": _profile, "assistant.approval": _approval}
