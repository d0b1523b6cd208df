"""Who may use the IVS shows (API, admin); see broadcastops/tests/authz.py.

The audience's join and leave are anonymous (the players of the existing frontend call them,
throttled per address, refused before any query when their body is bad); Viewers read;
Operators act (shows, the broadcaster's token, stages, replication, draining, ending)."""

from broadcastops.tests.authz_levels import ANYONE, NO_ONE, OPERATOR, VIEWER, read_only_admin


def _show():
    from ivs_scaling.models import Show

    # The stage, seat and event samples each need a show: one for all of them.
    show, _ = Show.objects.get_or_create(name="authz-show", defaults={"state": Show.State.ENDED})
    return show


def _stage():
    from ivs_scaling.models import Stage

    stage, _ = Stage.objects.get_or_create(
        show=_show(),
        name="authz-show-2",
        defaults={
            "role": Stage.Role.SECONDARY,
            "state": Stage.State.DELETED,
            "create_id": "authz-stage",
            "capacity": 50,
        },
    )
    return stage


def _seat():
    from django.utils import timezone

    from ivs_scaling.models import Seat

    stage = _stage()
    now = timezone.now()
    return Seat.objects.create(
        show=stage.show, stage=stage, key="0" * 32, user_id="authz", created_at=now, expires_at=now
    )


def _event():
    from django.utils import timezone

    from ivs_scaling.models import ShowEvent

    return ShowEvent.objects.create(show=_show(), at=timezone.now(), kind="authz", text="authz")


ROUTES = {
    "ivs:stage": {"GET": VIEWER, "POST": OPERATOR},
    "ivs:join": ANYONE,
    "ivs:leave": ANYONE,
    "ivs:publisher-token": OPERATOR,
    "ivs:publisher-info": VIEWER,
    "ivs:replication-start": OPERATOR,
    "ivs:replication-stop": OPERATOR,
    "ivs:show-list": {"GET": VIEWER, "POST": OPERATOR},
    "ivs:show-detail": VIEWER,
    "ivs:show-end": OPERATOR,
    "ivs:show-events": VIEWER,
}
ADMIN_MODELS = {
    # Added and edited here (through the services); a show ends, it is never deleted.
    "ivs_scaling.show": {"view": VIEWER, "add": OPERATOR, "change": OPERATOR, "delete": NO_ONE},
    "ivs_scaling.stage": read_only_admin(),
    "ivs_scaling.seat": read_only_admin(),
    "ivs_scaling.showevent": read_only_admin(),
}
ADMIN_ACTIONS = {
    "ivs_scaling.show.end_shows": OPERATOR,
    "ivs_scaling.stage.start_replication": OPERATOR,
    "ivs_scaling.stage.stop_replication": OPERATOR,
    "ivs_scaling.stage.drain": OPERATOR,
}
SAMPLES = {
    "ivs_scaling.show": _show,
    "ivs_scaling.stage": _stage,
    "ivs_scaling.seat": _seat,
    "ivs_scaling.showevent": _event,
}
