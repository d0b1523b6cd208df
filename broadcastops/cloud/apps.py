from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CloudConfig(AppConfig):
    name = "broadcastops.cloud"
    label = "cloud"
    verbose_name = _("Cloud gateways")
