from typing import Any

from django.conf import settings
from django.http import HttpRequest


def console(request: HttpRequest) -> dict[str, Any]:
    """What every console page needs to know: whether it talks to the simulator."""
    return {"CLOUD_DEMO": settings.CLOUD_DEMO}
