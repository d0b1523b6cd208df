"""The *My notifications* form: a user's own notification settings and e-mail address."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from broadcastops.notify.models import NotifyProfile


class NotifyProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("Where the e-mail notifications go."),
    )

    class Meta:
        model = NotifyProfile
        fields = ("slack_user_id", "channels", "language")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channels = data.get("channels")
        # Without a Slack id the team channel still gets the post, only without a mention;
        # without an address no mail can go.
        if channels in (NotifyProfile.Channels.EMAIL, NotifyProfile.Channels.BOTH) and not (
            data.get("email")
        ):
            self.add_error("email", _("Give an e-mail address to be told by e-mail."))
        return data
