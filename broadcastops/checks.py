"""System checks of the project's own settings (``manage.py check --deploy``)."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def https_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """HTTPS off is for a console that answers loopback only.

    With ``HTTPS`` off the settings silence Django's four HTTPS warnings (W004, W008, W012,
    W016), which would otherwise make ``check --deploy`` fail for the loopback console of
    ``make run``; this check stands in for them where they matter.
    """
    if settings.HTTPS:
        return []
    public = sorted(set(settings.ALLOWED_HOSTS) - settings.LOOPBACK_HOSTS)
    if not public:
        return []
    return [
        Warning(
            f"HTTPS is off while ALLOWED_HOSTS names {', '.join(public)}: sessions, CSRF "
            "tokens and passwords would cross the network in clear text.",
            hint="Serve the console over HTTPS (or behind a TLS proxy) and set HTTPS=1.",
            id="broadcastops.W001",
        )
    ]
