"""Who may use the inventory's API, admin and dashboard socket; see broadcastops/tests/authz.py."""

from broadcastops.tests.authz_levels import ANYONE, NO_ONE, OPERATOR, VIEWER, read_only_admin


def _channel():
    from broadcastops.inventory.models import LiveChannel

    return LiveChannel.objects.get_or_create(
        cloud_id="authz-channel", defaults={"name": "authz-channel", "state": "IDLE"}
    )[0]


def _model(model: str, **fields):
    def make():
        from broadcastops.inventory import models

        return getattr(models, model).objects.create(**fields)

    return make


def _failover_event():
    from django.utils import timezone

    from broadcastops.inventory.models import FailoverEvent

    return FailoverEvent.objects.create(
        channel=_channel(), pipeline=0, kind="failover", source="log", occurred_at=timezone.now()
    )


ROUTES = {
    "channel-list": VIEWER,
    "channel-detail": VIEWER,
    "api/v1/channels/<str:key>/start": OPERATOR,
    "api/v1/channels/<str:key>/stop": OPERATOR,
    "api/v1/channels/<str:key>/restart": OPERATOR,
    "flow-list": VIEWER,
    "api/v1/flows/<str:key>/start": OPERATOR,
    "api/v1/flows/<str:key>/stop": OPERATOR,
    "status": VIEWER,
    # StreamLive's push callbacks: the cloud signs them (sign = MD5(key + t)), no one signs in.
    "tencent-events": ANYONE,
}
ADMIN_MODELS = {
    # "change" opens the list's actions; every field stays read-only.
    "inventory.livechannel": {"view": VIEWER, "add": NO_ONE, "change": OPERATOR, "delete": NO_ONE},
    "inventory.linkflow": read_only_admin(),
    "inventory.liveinput": read_only_admin(),
    "inventory.packagechannel": read_only_admin(),
    "inventory.cssstream": read_only_admin(),
    "inventory.failoverevent": read_only_admin(),
}
ADMIN_ACTIONS = {
    "inventory.livechannel.start_channels": OPERATOR,
    "inventory.livechannel.stop_channels": OPERATOR,
    "inventory.livechannel.restart_channels": OPERATOR,
    "inventory.livechannel.configure_callbacks": OPERATOR,
}
SOCKETS = {"ws/dashboard/": VIEWER}
SAMPLES = {
    "inventory.livechannel": _channel,
    "inventory.linkflow": _model("LinkFlow", cloud_id="authz-flow", name="authz", state="IDLE"),
    "inventory.liveinput": _model("LiveInput", cloud_id="authz-input"),
    "inventory.packagechannel": _model("PackageChannel", cloud_id="authz-package"),
    "inventory.cssstream": _model("CssStream", domain="push.authz.test", stream_name="authz"),
    "inventory.failoverevent": _failover_event,
}
