"""The roles in the admin: who may run an admin action.

Every admin action declares the role it needs, with Django's own mechanism:
``@admin.action(permissions=["operator"])`` asks the model admin's
``has_operator_permission(request)``, and Django offers (and runs) the action only when it
answers True. ``RoleActions`` gives every model admin the three answers, one per role of
``broadcastops/accounts/roles.py``, so an action names a role, never a Django permission.

django-axes's sign-in records are registered here (``AXES_ENABLE_ADMIN`` is off), as the
proxies of ``models.py``, so that they read in the operator's language and their one action,
*Unlock*, declares its role too. Only Admins see them (``ADMIN_ONLY_CODENAMES``).
"""

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessLogAdmin
from django.conf import settings
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from broadcastops.accounts.models import FailedSignIn, SignIn
from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.accounts.services import login_unlock


class RoleActions:
    """Mix into a ``ModelAdmin``: ``permissions=["viewer" | "operator" | "admin"]``."""

    def has_viewer_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.VIEWER)

    def has_operator_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.OPERATOR)

    def has_admin_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.ADMIN)


_REQUEST = _("Request")


@admin.register(FailedSignIn)
class LoginAttemptAdmin(RoleActions, AccessAttemptAdmin):
    """Failed sign-ins per user name and address, and the Admins' *Unlock*."""

    actions = ["unlock"]
    fieldsets = (
        (None, {"fields": ("username", "path_info", "failures_since_start", "expiration")}),
        (_("Form data"), {"fields": ("get_data", "post_data")}),
        (_REQUEST, {"fields": ("user_agent", "ip_address", "http_accept")}),
    )

    @admin.display(description=_("State"))
    def status(self, obj: FailedSignIn) -> str:
        left = settings.AXES_FAILURE_LIMIT - obj.failures_since_start
        if left <= 0:
            return str(_("Locked out"))
        return ngettext("%(count)d attempt left", "%(count)d attempts left", left) % {"count": left}

    @admin.action(permissions=["admin"], description=_("Unlock the selected sign-ins"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        cleared = login_unlock(attempts=queryset, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "Unlocked %(count)d user name and address; they may sign in again.",
                "Unlocked %(count)d user names and addresses; they may sign in again.",
                cleared,
            )
            % {"count": cleared},
        )


@admin.register(SignIn)
class SignInLogAdmin(RoleActions, AccessLogAdmin):
    """Successful sign-ins and sign-outs, read-only."""

    fieldsets = (
        (None, {"fields": ("username", "path_info")}),
        (_REQUEST, {"fields": ("user_agent", "ip_address", "http_accept")}),
    )

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
