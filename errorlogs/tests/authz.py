"""Who may use the player error reports; see broadcastops/tests/authz.py."""

import uuid

from broadcastops.tests.authz_levels import ANYONE, VIEWER, read_only_admin


def _now():
    from django.utils import timezone

    return timezone.now()


def _report():
    from errorlogs.models import ErrorReport

    return ErrorReport.objects.create(
        report_id=uuid.uuid4(),
        received_at=_now(),
        stream_id="authz-stream",
        error_type="fetch_error",
        client_key="authz-viewer",
        fingerprint="authz-group",
    )


def _group():
    from errorlogs.models import ErrorGroup

    return ErrorGroup.objects.create(
        fingerprint="authz-group",
        stream_id="authz-stream",
        error_type="fetch_error",
        first_seen_at=_now(),
        last_seen_at=_now(),
    )


def _incident():
    from errorlogs.models import Incident

    now = _now()
    return Incident.objects.create(
        scope_key="host:authz",
        whep_host="authz",
        trigger=Incident.Trigger.values[0],
        opened_at=now,
        first_report_at=now,
        last_report_at=now,
    )


def _probe():
    from errorlogs.models import ProbeResult

    return ProbeResult.objects.create(
        server_name="authz", probed_at=_now(), verdict=ProbeResult.Verdict.values[0]
    )


ROUTES = {
    # Browsers post without a login: the CORS allow-list, a throttle per address and the
    # body limit (before the body is read) guard it, not a role.
    "errorlogs:report-create": ANYONE,
    "errorlogs:latest": VIEWER,
    "errorlogs:statistics": VIEWER,
    "errorlogs:demo-player": VIEWER,
}
ADMIN_MODELS = {
    "errorlogs.errorreport": read_only_admin(),
    "errorlogs.errorgroup": read_only_admin(),
    "errorlogs.incident": read_only_admin(),
    "errorlogs.proberesult": read_only_admin(),
}
SAMPLES = {
    "errorlogs.errorreport": _report,
    "errorlogs.errorgroup": _group,
    "errorlogs.incident": _incident,
    "errorlogs.proberesult": _probe,
}
