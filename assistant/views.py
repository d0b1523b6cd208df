"""The profile page where a console user links their Slack account (and says how to be told)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.errors import ApplicationError
from broadcastops.notify.models import NotifyProfile
from broadcastops.notify.selectors import notify_profile_get
from broadcastops.notify.services import notify_profile_set


class ProfileForm(forms.ModelForm):
    class Meta:
        model = NotifyProfile
        fields = ["slack_user_id", "channels", "language"]


@login_required(login_url="admin:login")
def profile_edit(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own Slack member id, notification channel and language."""
    profile = notify_profile_get(user=request.user)  # type: ignore[arg-type]
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        try:
            notify_profile_set(
                user=request.user,
                slack_user_id=form.cleaned_data["slack_user_id"],
                channels=form.cleaned_data["channels"],
                language=form.cleaned_data["language"],
            )
        except ApplicationError as exc:
            form.add_error("slack_user_id", str(exc.message))
        else:
            messages.success(request, _("Your settings are saved."))
            return HttpResponseRedirect(request.path)
    context = {
        **admin.site.each_context(request),
        "title": _("My profile: Slack and notifications"),
        "form": form,
        "is_operator": user_has_role(request.user, Role.OPERATOR),
        "command": settings.SLACK_COMMAND_NAME,
    }
    return TemplateResponse(request, "assistant/profile.html", context)
