from django.conf import settings


def console(request):
    """What every console page needs to know: whether it talks to the simulator."""
    return {"CLOUD_DEMO": settings.CLOUD_DEMO}
