"""The sign-in records (django-axes's tables) as the console names them.

Proxies: axes keeps writing its own tables; the console shows them under *Accounts and
roles*, named and described in the operator's language (axes's model names and ``__str__``
are English only, and it has no Korean or Chinese catalogue: its field labels are translated
by our catalogue, see ``axes_labels.py``).
"""

from axes.models import AccessAttempt, AccessLog
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def _when(moment: object) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")  # type: ignore[arg-type]


class FailedSignIn(AccessAttempt):  # type: ignore[misc]  # axes ships no types
    """Failed sign-ins counted per user name and address (what a lockout is decided on)."""

    class Meta:
        proxy = True
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")

    def __str__(self) -> str:
        return gettext("%(user)s from %(address)s, last at %(when)s") % {
            "user": self.username or "?",
            "address": self.ip_address or "?",
            "when": _when(self.attempt_time),
        }


class SignIn(AccessLog):  # type: ignore[misc]  # axes ships no types
    """A successful sign-in and, once it ends, its sign-out."""

    class Meta:
        proxy = True
        verbose_name = _("sign-in")
        verbose_name_plural = _("sign-ins")

    def __str__(self) -> str:
        return gettext("%(user)s from %(address)s at %(when)s") % {
            "user": self.username or "?",
            "address": self.ip_address or "?",
            "when": _when(self.attempt_time),
        }
