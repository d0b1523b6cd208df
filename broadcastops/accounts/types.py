"""The user of a request (Django's and DRF's ``request.user``), maybe anonymous.

Who acts on a cloud, with its origin, is ``broadcastops.actions.types.Actor``.
"""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User

RequestUser: TypeAlias = User | AnonymousUser
