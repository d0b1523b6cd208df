"""What an error page or error report may show: never a secret.

Django's ``SafeExceptionReporterFilter`` hides settings whose *names* look secret (KEY,
SECRET, TOKEN, PASS, ...), and only while ``DEBUG`` is off does it hide the request's POST
data and the frames' variables. Here the filter is always on, also hides the names this
project's secrets have (webhook URLs, DSNs, database and Redis URLs, brokers), and hides
secrets by *value* wherever they appear: the password of any URL with credentials (a Redis
``LOCATION`` in ``CACHES``, a channel-layer address), stream keys (``broadcastops.masking``)
and any string holding the value of a secret setting (a local holding the Slack webhook).
"""

from collections.abc import ItemsView
from types import FrameType
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

from broadcastops.masking import SECRET_SETTING_NAMES as HIDDEN_NAMES
from broadcastops.masking import secret_setting_values, secrets_mask


class SecretsReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = HIDDEN_NAMES

    def is_active(self, request: HttpRequest | None) -> bool:
        # Django turns the filter off with DEBUG on: then the debug page would show them.
        return True

    def _secret_values(self) -> list[str]:
        return secret_setting_values(self.hidden_settings)

    def cleanse_text(self, text: str, secrets: list[str] | None = None) -> str:
        for secret in self._secret_values() if secrets is None else secrets:
            if secret in text:
                text = text.replace(secret, self.cleansed_substitute)
        return secrets_mask(text)

    def _cleanse_value(self, value: Any, secrets: list[str]) -> Any:
        if isinstance(value, str):
            return self.cleanse_text(value, secrets)
        if isinstance(value, dict):
            return {k: self._cleanse_value(v, secrets) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._cleanse_value(v, secrets) for v in value)
        return value

    def cleanse_setting(self, key: str | int, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return self.cleanse_text(cleansed)
        return cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> ItemsView[str, Any]:
        secrets = self._secret_values()
        cleansed: dict[str, Any] = {}
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
            else:
                cleansed[name] = self._cleanse_value(value, secrets)
        return cleansed.items()
