"""Celery tasks of player error reports: each loads by id or reads settings, calls one service."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from errorlogs import services


@shared_task(ignore_result=True)
def probes_run_task() -> int:
    """Probe every configured MediaMTX server (beat; each call is bounded by its timeouts)."""
    return len(services.probes_run())


@shared_task(
    ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3
)
def incident_verify_task(incident_id: int) -> None:
    """What an incident that just opened is, and its one alert (idempotent: claimed once)."""
    services.incident_verify(incident_id=incident_id)


@shared_task(ignore_result=True)
def incidents_resolve_task() -> int:
    return len(services.incidents_resolve())


@shared_task(ignore_result=True)
def errorlogs_prune_task() -> None:
    services.errorlogs_prune(days=settings.ERRORLOGS_RETENTION_DAYS)
