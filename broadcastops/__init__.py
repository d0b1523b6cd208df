"""BroadcastOps: the operations console of a live-broadcast team.

The project package holds settings, URLs, the ASGI and Celery entry points and the shared core
(errors, REST conventions, logging, health); the apps under it and beside it own one capability
each.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
