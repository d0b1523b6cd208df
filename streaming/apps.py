from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StreamingConfig(AppConfig):
    name = "streaming"
    label = "streaming"
    verbose_name = _("Live monitoring")

    def ready(self) -> None:
        import contextlib

        from prometheus_client import REGISTRY

        from broadcastops import registry

        # messages: its stored codes render in every process, whatever it imports first.
        from streaming import messages, runtime, services  # noqa: F401
        from streaming.metrics import PictureAlarmCollector

        with contextlib.suppress(ValueError):  # already registered: ready() ran before
            REGISTRY.register(PictureAlarmCollector())
        # Producers (web process or stream worker) record picture alarms through the service.
        runtime.alarm_handler_set(services.picture_alarm_change)

        # /healthz names a camera whose feed is late (a dead stream worker, a lost Redis
        # subscription) next to the project's own checks.
        registry.HEALTH_CHECKS.register(_check_live_frames, key="live_frames")


def _check_live_frames() -> dict:
    from django.utils.translation import gettext

    from broadcastops import health
    from streaming.selectors import feed_health

    report = feed_health()
    if report["lagging"]:
        details = ", ".join(
            gettext("%(camera)s (last frame %(age)s s ago)")
            % {"camera": camera, "age": report["cameras"][camera]["last_frame_age_s"]}
            for camera in report["lagging"]
        )
        # One camera's late feed degrades live monitoring, not the console: 200, named.
        raise health.HealthWarning(
            gettext("live frames lagging for camera %(cameras)s") % {"cameras": details}
        )
    return {"watched_cameras": len(report["cameras"])}
