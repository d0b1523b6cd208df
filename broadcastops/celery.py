"""The Celery application, configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadcastops.settings")

app = Celery("broadcastops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["broadcastops"])


@worker_ready.connect
def _beat_at_start(sender: object = None, **kwargs: object) -> None:
    # The health check should not wait a whole beat interval after a worker (re)starts.
    from broadcastops.health import heartbeat_record

    heartbeat_record()
