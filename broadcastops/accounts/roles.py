"""The three roles and the permissions each group carries.

Viewer < Operator < Admin: each role includes the ones before it. A superuser is an Admin.
"""

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet, TextChoices

from broadcastops.accounts.types import RequestUser

if TYPE_CHECKING:
    from django.contrib.auth.models import Group as GroupModel
    from django.contrib.auth.models import Permission as PermissionModel

# Apps whose models the roles govern. Django's own (auth, sessions, ...) are Admin-only.
PROJECT_APP_LABELS = (
    "accounts",
    "cloud",
    "actions",
    "inventory",
    "notify",
    "assistant",
    "streaming",
    "failover",
    "scheduling",
    "ivs_scaling",
    "errorlogs",
)

# Permission codenames in the project apps that stay with Admins (settings-like models and
# the sign-in records; everyone's notification settings: each user edits their own on the
# *My notifications* page). Apps add to this as their models arrive.
ADMIN_ONLY_CODENAMES: set[str] = {
    f"{verb}_{model}"
    for verb in ("view", "add", "change", "delete")
    for model in ("failedsignin", "signin", "notifyprofile")
}


class Role(TextChoices):
    VIEWER = "Viewer", "Viewer"
    OPERATOR = "Operator", "Operator"
    ADMIN = "Admin", "Admin"


ROLE_ORDER = [Role.VIEWER, Role.OPERATOR, Role.ADMIN]


def _role_permissions(
    role: Role, Permission: "type[PermissionModel]"
) -> "QuerySet[PermissionModel]":
    project = Permission.objects.filter(content_type__app_label__in=PROJECT_APP_LABELS)
    if role == Role.VIEWER:
        return project.filter(codename__startswith="view_").exclude(
            codename__in=ADMIN_ONLY_CODENAMES
        )
    if role == Role.OPERATOR:
        return project.exclude(codename__in=ADMIN_ONLY_CODENAMES)
    return Permission.objects.all()


def roles_sync(*, Group: "type[GroupModel]", Permission: "type[PermissionModel]") -> None:
    """Create the role groups and give each exactly its permissions. Idempotent."""
    for role in ROLE_ORDER:
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set(_role_permissions(role, Permission))


def roles_sync_after_migrate(sender: object, **kwargs: Any) -> None:
    # post_migrate fires once per app that has models, after that app's permissions exist;
    # syncing each time is idempotent and gives the roles every app's permissions.
    from django.contrib.auth.models import Group, Permission

    roles_sync(Group=Group, Permission=Permission)


def user_roles(user: RequestUser) -> set[str]:
    cached = getattr(user, "_broadcastops_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        vars(user)["_broadcastops_roles"] = cached
    return cached


def user_has_role(user: RequestUser, role: Role) -> bool:
    """True when ``user`` holds ``role`` or a higher one."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    held = user_roles(user)
    return any(r.value in held for r in ROLE_ORDER[ROLE_ORDER.index(role) :])
