"""django-axes's field labels, kept in our catalogue.

axes ships no Korean or Traditional Chinese translation. Django merges every catalogue of
the ``django`` domain, and ours (``LOCALE_PATHS``) comes first, so listing axes's own message
ids here, exactly as axes spells them, gets them extracted and translated with ours. Nothing
imports this module; it exists for the extractor.
"""

from django.utils.translation import gettext_noop

AXES_LABELS = (
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("Username"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("Logout Time"),
    gettext_noop("Locked Out"),
    gettext_noop("Yes"),
    gettext_noop("No"),
    gettext_noop("Expires At"),
    gettext_noop("Not set"),
)
