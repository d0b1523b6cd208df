"""Who acts: the user of a request (Django's and DRF's ``request.user``), maybe anonymous."""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User

Actor: TypeAlias = User | AnonymousUser
