from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    label = "streaming"
    verbose_name = "Live monitoring"

    def ready(self) -> None:
        from broadcastops import registry

        # /healthz names a camera whose feed is late (a dead stream worker, a lost Redis
        # subscription) next to the project's own checks.
        registry.HEALTH_CHECKS.register(_check_live_frames, key="live_frames")


def _check_live_frames() -> dict:
    from broadcastops import health
    from streaming.selectors import feed_health

    report = feed_health()
    if report["lagging"]:
        details = ", ".join(
            f"{camera} (last frame {report['cameras'][camera]['last_frame_age_s']} s ago)"
            for camera in report["lagging"]
        )
        # One camera's late feed degrades live monitoring, not the console: 200, named.
        raise health.HealthWarning(f"live frames lagging for camera {details}")
    return {"watched_cameras": len(report["cameras"])}
