"""Who may use the schedules, their reports, KPIs and calendars; see broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import ANYONE, NO_ONE, OPERATOR, VIEWER


def _schedule():
    from datetime import timedelta

    from django.utils import timezone

    from broadcastops.inventory.models import LiveChannel
    from scheduling.services import schedule_create

    channel = LiveChannel.objects.create(cloud_id="authz-sched", name="authz-sched", state="IDLE")
    start = timezone.now() + timedelta(days=2)
    return schedule_create(
        title="authz", channel=channel, starts_at=start, ends_at=start + timedelta(hours=1)
    ).schedules[0]


def _player_stream():
    from broadcastops.inventory.models import LiveChannel
    from scheduling.models import PlayerStream

    channel, _ = LiveChannel.objects.get_or_create(
        cloud_id="authz-stream", defaults={"name": "authz-stream", "state": "IDLE"}
    )
    return PlayerStream.objects.get_or_create(stream_path="authz/live", channel=channel)[0]


ROUTES = {
    "scheduling:schedule-list": {"GET": VIEWER, "POST": OPERATOR},
    "scheduling:schedule-upcoming": VIEWER,
    "scheduling:schedule-detail": {"GET": VIEWER, "PATCH": OPERATOR},
    "scheduling:schedule-cancel": OPERATOR,
    "scheduling:kpis": VIEWER,
    "scheduling:report-daily": VIEWER,
    # The secret URL is the credential (calendar apps cannot sign in): a wrong key is a 404
    # for everyone, signed in or not.
    "scheduling:calendar-operator": ANYONE,
    "scheduling:calendar-channel": ANYONE,
    "admin:scheduling_schedule_week": VIEWER,
    "admin:scheduling_schedule_report": VIEWER,
    "admin:scheduling_schedule_kpis": VIEWER,
    "admin:scheduling_schedule_calendars": VIEWER,
}
ADMIN_MODELS = {
    "scheduling.schedule": {"view": VIEWER, "add": OPERATOR, "change": OPERATOR, "delete": NO_ONE},
    # Which channel a player's stream carries (the incidents' show on air).
    "scheduling.playerstream": {
        "view": VIEWER,
        "add": OPERATOR,
        "change": OPERATOR,
        "delete": OPERATOR,
    },
}
ADMIN_ACTIONS = {"scheduling.schedule.cancel_schedules": OPERATOR}
SAMPLES = {"scheduling.schedule": _schedule, "scheduling.playerstream": _player_stream}
