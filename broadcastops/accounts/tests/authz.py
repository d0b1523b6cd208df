"""Who may use the sign-in records (django-axes) in the admin; see broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import ADMIN, NO_ONE


def _attempt():
    from django.utils import timezone

    from broadcastops.accounts.models import FailedSignIn as AccessAttempt

    return AccessAttempt.objects.create(
        username="someone",
        ip_address="10.0.0.9",
        user_agent="",
        failures_since_start=1,
        attempt_time=timezone.now(),
        get_data="",
        post_data="",
        http_accept="",
        path_info="/admin/login/",
    )


def _sign_in():
    from django.utils import timezone

    from broadcastops.accounts.models import SignIn as AccessLog

    return AccessLog.objects.create(
        username="someone", ip_address="10.0.0.9", user_agent="", attempt_time=timezone.now()
    )


ADMIN_MODELS = {
    "accounts.failedsignin": {"view": ADMIN, "add": NO_ONE, "change": ADMIN, "delete": ADMIN},
    "accounts.signin": {"view": ADMIN, "add": NO_ONE, "change": NO_ONE, "delete": ADMIN},
}
ADMIN_ACTIONS = {"accounts.failedsignin.unlock": ADMIN}
SAMPLES = {"accounts.failedsignin": _attempt, "accounts.signin": _sign_in}
