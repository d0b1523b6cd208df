"""What a camera id is: 1 to 64 letters, digits, dots, dashes or underscores, not starting
with a dot (so never ``.`` or ``..``, which name folders, not cameras).

Routes match the wider ``CAMERA_ID_ROUTE`` so that a bad id reaches the view and gets a
clear 400 (or a 4400 close on the socket) instead of a bare "no such URL".
"""

import re

from django.utils.translation import gettext

CAMERA_ID_ROUTE = r"(?P<camera_id>[A-Za-z0-9_.-]{1,64})"
CAMERA_ID_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")


def camera_id_valid(camera_id: str | None) -> bool:
    return bool(CAMERA_ID_RE.match(camera_id or ""))


def camera_id_message() -> str:
    return gettext(
        "A camera id is 1 to 64 letters, digits, dots, dashes or underscores and does not "
        "start with a dot."
    )
