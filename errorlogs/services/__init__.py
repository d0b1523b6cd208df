"""Services of player error reports (what changes state), one module per area."""

from errorlogs.services.incidents import incident_verify, incidents_note, incidents_resolve
from errorlogs.services.probing import probes_run, server_probe
from errorlogs.services.reports import reports_store
from errorlogs.services.retention import errorlogs_prune

__all__ = [
    "errorlogs_prune",
    "incident_verify",
    "incidents_note",
    "incidents_resolve",
    "probes_run",
    "reports_store",
    "server_probe",
]
