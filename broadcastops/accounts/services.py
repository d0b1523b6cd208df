"""Account changes: role assignment and the first-run administrator."""

import logging
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import QuerySet

from broadcastops.accounts.roles import ROLE_ORDER, Role
from broadcastops.accounts.types import RequestUser

logger = logging.getLogger(__name__)


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> None:
    """Give ``user`` exactly one role; every role may open the console (the admin)."""
    role_groups = Group.objects.filter(name__in=[r.value for r in ROLE_ORDER])
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=role.value))
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.__dict__.pop("_broadcastops_roles", None)


def admin_ensure(*, username: str = "admin") -> str | None:
    """Create the first administrator if no superuser exists.

    Returns the generated password (to be shown once), or None when an administrator exists.
    """
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(18)
    with transaction.atomic():
        user = User.objects.create_superuser(username=username, email="", password=password)
        user_set_role(user=user, role=Role.ADMIN)
    logger.info("Created the first administrator account user=%s", username)
    return password


def login_unlock(*, attempts: QuerySet[Any], actor: RequestUser) -> int:
    """Lift the sign-in lock of the selected failed-attempt records (django-axes, database).

    Each record is one user name and address; deleting it clears its failure count, so
    that pair may sign in again at once. Returns how many records were cleared.
    """
    pairs = list(attempts.values_list("username", "ip_address"))
    deleted, _ = attempts.delete()
    for username, ip_address in pairs:
        logger.info(
            "Sign-in unlocked user=%s ip=%s by=%s", username, ip_address, actor.get_username()
        )
    return int(deleted)
