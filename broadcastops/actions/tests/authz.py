"""Who may read the audit trail (API and admin); see broadcastops/tests/authz.py.

One rule for the list and every entry (``actions.admin.may_read_actions``): Operators follow
the actions they start, Admins read them all; Viewers and users without a role get nothing.
"""

from broadcastops.tests.authz_levels import OPERATOR, read_only_admin


def _action():
    from broadcastops.actions.models import OperatorAction

    return OperatorAction.objects.create(
        actor_name="authz", action="channel.start", target_type="channel", target_id="authz"
    )


ROUTES = {
    "action-list": OPERATOR,
    "action-detail": OPERATOR,
    "audit-list": OPERATOR,  # the older name of the same list
    "audit-detail": OPERATOR,
}
ADMIN_MODELS = {"actions.operatoraction": read_only_admin(OPERATOR)}
SAMPLES = {"actions.operatoraction": _action}
