from django.apps import AppConfig


class IvsScalingConfig(AppConfig):
    name = "ivs_scaling"
    label = "ivs_scaling"
    verbose_name = "IVS stage scaling"
