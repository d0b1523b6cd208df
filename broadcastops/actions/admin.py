"""The audit trail in the console, and the "recent actions" block of a resource's page.

Operators and Admins read the audit trail (Operators follow the actions they start); nobody
edits it. A running action's block refreshes itself from ``/api/v1/actions/<id>/``
(``actions/progress.js``) until it ends.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from broadcastops.accounts.admin import RoleActions
from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.actions.api import action_url
from broadcastops.actions.models import OperatorAction
from broadcastops.actions.selectors import action_list, action_outcome, action_progress_lines
from broadcastops.masking import secrets_hide

PROGRESS_JS = "actions/progress.js"


def _local(when: datetime | None) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S") if when else ""


class ReadOnlyAdmin(RoleActions, admin.ModelAdmin):
    """Rows written by services only: viewable, never added, changed or deleted here. Its
    admin actions declare the role they need (``RoleActions``)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def may_read_actions(user: Any) -> bool:
    """The one rule for the audit trail, in the admin and the API: Operators and Admins."""
    return user_has_role(user, Role.OPERATOR)


class ActionHistoryMixin(admin.ModelAdmin):
    """For a resource's admin page that shows its recent actions (the fields named in
    ``action_fields``, rendered with ``action_history``): Operators and Admins see them, and
    running ones refresh themselves; Viewers get the page without them."""

    action_fields: tuple[str, ...] = ("recent_actions",)

    @property
    def media(self) -> forms.Media:
        return super().media + forms.Media(js=[PROGRESS_JS])

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if may_read_actions(request.user):
            return fieldsets
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in self.action_fields]})
            for name, opts in fieldsets
        ]


def action_admin_url(action: OperatorAction) -> str:
    return reverse("admin:actions_operatoraction_change", args=[action.pk])


def _progress_html(action: OperatorAction) -> SafeString:
    return format_html_join(
        "",
        "<li><span class='bo-when'>{}</span> {}</li>",
        ((_local(line.at)[11:], line.step) for line in action_progress_lines(action)),
    )


def action_block(action: OperatorAction) -> SafeString:
    """One action as the resource page shows it: when, what, who, status, progress, outcome."""
    who = _("%(kind)s by %(actor)s") % {"kind": action.action, "actor": action.actor_name}
    origin = f" ({action.get_origin_display()})" if action.origin else ""
    return format_html(
        '<div class="bo-action" data-action-url="{}" data-status="{}">'
        "<div>{} — {}{}: <b class='bo-action-status'>{}</b> "
        '<a href="{}">#{}</a></div>'
        "<ol class='bo-action-progress'>{}</ol>"
        "<div class='bo-action-outcome'>{}</div></div>",
        action_url(action),
        action.status,
        _local(action.created_at),
        who,
        origin,
        action.get_status_display(),
        action_admin_url(action),
        action.pk,
        _progress_html(action),
        action_outcome(action),
    )


def action_history(
    *, target_type: str, target_id: str, kinds: tuple[str, ...] = (), limit: int = 5
) -> SafeString | str:
    """The newest actions on a resource, for its admin page (for Operators and Admins: the
    page leaves the field out for others, ``may_read_actions``)."""
    rows = action_list(target_type=target_type, target_id=target_id, kinds=kinds)[:limit]
    return format_html_join("", "{}", ((action_block(a),) for a in rows)) or "-"


def action_started_message(action: OperatorAction) -> SafeString:
    """What the admin says once an action is begun: it runs, and where to follow it."""
    return format_html(
        _('Action #{id} ({kind} on {name}) is running: <a href="{url}">follow its progress</a>.'),
        name=action.target_name or action.target_id,
        kind=action.action,
        id=action.pk,
        url=action_admin_url(action),
    )


def resource_page_redirect(obj: Model) -> HttpResponseRedirect:
    """After an admin action on one resource: to its page, where the action's progress shows."""
    opts = obj._meta
    return HttpResponseRedirect(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    )


@admin.register(OperatorAction)
class OperatorActionAdmin(ActionHistoryMixin, ReadOnlyAdmin):
    """The audit trail: Operators and Admins read it, nobody edits it."""

    list_display = (
        "created_at",
        "actor_name",
        "origin",
        "action",
        "target_name",
        "status",
        "outcome_text",
    )
    list_filter = ("action", "status", "origin", "target_type")
    search_fields = ("target_name", "target_id", "actor_name", "origin_ref")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "finished_at",
        "actor_name",
        "origin",
        "origin_ref",
        "action",
        "target_type",
        "target_id",
        "target_name",
        "params_shown",
        "status",
        "progress_lines",
        "outcome_text",
        "outcome_code",
        "result_shown",
        "request_ids",
        "attempts",
    )
    readonly_fields = fields
    action_fields = ()  # the whole page is for Operators and Admins

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return may_read_actions(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_read_actions(request.user)

    @admin.display(description=gettext_lazy("outcome"))
    def outcome_text(self, obj: OperatorAction) -> str:
        return action_outcome(obj)

    @admin.display(description=gettext_lazy("progress"))
    def progress_lines(self, obj: OperatorAction) -> SafeString:
        return action_block(obj)

    # The parameters and the result as stored, with no secret in them (masking.secrets_hide).
    @admin.display(description=gettext_lazy("parameters"))
    def params_shown(self, obj: OperatorAction) -> str:
        return json.dumps(secrets_hide(obj.params), ensure_ascii=False)

    @admin.display(description=gettext_lazy("result"))
    def result_shown(self, obj: OperatorAction) -> str:
        return json.dumps(secrets_hide(obj.result), ensure_ascii=False)
