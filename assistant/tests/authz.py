"""Who may use the assistants' endpoints, pages and admin; see broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import NO_ONE, read_only_admin


def _approval():
    from datetime import timedelta

    from django.utils import timezone

    from assistant.models import Approval

    return Approval.objects.create(
        tool="restart_channel", expires_at=timezone.now() + timedelta(minutes=5)
    )


ROUTES = {
    # Slack signs these (SLACK_SIGNING_SECRET): no console identity gets past the signature,
    # so the matrix's five identities are all refused with 401; only Slack is let in.
    "slack-commands": NO_ONE,
    "slack-interactions": NO_ONE,
}
ADMIN_MODELS = {
    "assistant.approval": read_only_admin(),
}
SAMPLES = {"assistant.approval": _approval}
