"""Reads of the people notifications reach: a user's settings, the user a Slack id names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadcastops.notify.models import NotifyProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def notify_profile_get(*, user: User) -> NotifyProfile:
    """The user's settings (unsaved defaults when they have none yet)."""
    return NotifyProfile.objects.filter(user=user).first() or NotifyProfile(user=user)


def slack_user_linked(*, slack_user_id: str) -> User | None:
    """The active console user whose notification settings carry ``slack_user_id`` (one at
    most: the id is unique among the profiles), ``None`` when nobody does."""
    if not slack_user_id:
        return None
    profile = (
        NotifyProfile.objects.filter(slack_user_id=slack_user_id, user__is_active=True)
        .select_related("user")
        .first()
    )
    return profile.user if profile else None
