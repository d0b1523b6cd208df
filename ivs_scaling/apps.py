from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IvsScalingConfig(AppConfig):
    name = "ivs_scaling"
    label = "ivs_scaling"
    verbose_name = _("IVS stage scaling")

    def ready(self) -> None:
        from broadcastops import registry
        from ivs_scaling.services import shows, stages

        # Create, replicate, drain, delete and end run in the action engine's task.
        for kind, runner in {**stages.RUNNERS, **shows.RUNNERS}.items():
            registry.ACTION_RUNNERS.register(runner, key=kind)
