"""The roles in the admin: who may run an admin action.

Every admin action declares the role it needs, with Django's own mechanism:
``@admin.action(permissions=["operator"])`` asks the model admin's
``has_operator_permission(request)``, and Django offers (and runs) the action only when it
answers True. ``RoleActions`` gives every model admin the three answers, one per role of
``broadcastops/accounts/roles.py``, so an action names a role, never a Django permission.
"""

from broadcastops.accounts.roles import Role, user_has_role


class RoleActions:
    """Mix into a ``ModelAdmin``: ``permissions=["viewer" | "operator" | "admin"]``."""

    def has_viewer_permission(self, request) -> bool:
        return user_has_role(request.user, Role.VIEWER)

    def has_operator_permission(self, request) -> bool:
        return user_has_role(request.user, Role.OPERATOR)

    def has_admin_permission(self, request) -> bool:
        return user_has_role(request.user, Role.ADMIN)
