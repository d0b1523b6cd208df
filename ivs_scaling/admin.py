"""The shows in the console: their stages, viewers, replication states and event log, and the
actions to start or stop a replication, drain a stage and end a show. Every action calls a
service and declares the role it needs (Operators); Viewers read everything."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.actions.admin import (
    ActionHistoryMixin,
    ReadOnlyAdmin,
    action_block,
    action_history,
    action_started_message,
)
from broadcastops.actions.models import OperatorAction, Origin
from broadcastops.actions.types import Actor
from broadcastops.errors import ApplicationError
from ivs_scaling import selectors
from ivs_scaling.models import Seat, Show, ShowEvent, Stage
from ivs_scaling.services import shows, stages
from ivs_scaling.services.common import stage_target

# The console's badge colours (broadcastops/static/broadcastops/console.css).
LEVEL_COLOURS = {"info": "", "warning": "bo-amber", "error": "bo-red"}
REPLICATION_COLOURS = {
    "active": "bo-green",
    "pending": "bo-amber",
    "failed": "bo-red",
    "stopped": "bo-idle",
    "none": "",
}
STYLES = forms.Media(css={"all": ["ivs_scaling/admin.css"]})


def _local(when: datetime | None) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S") if when else "-"


def _badge(colour: str, label: Any) -> SafeString:
    return format_html('<span class="bo-badge bo-ivs-badge {}">{}</span>', colour, label)


class Styled(admin.ModelAdmin):
    """The app's pages take its stylesheet (tables, badges, the event log's column)."""

    @property
    def media(self) -> forms.Media:
        return super().media + STYLES


class OperatorActions(Styled):
    """Admin actions declare ``permissions=["operator"]``: Operators and Admins run them."""

    def has_operator_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, Role.OPERATOR)


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user, Origin.ADMIN)


def _begun(modeladmin: admin.ModelAdmin, request: HttpRequest, action: OperatorAction) -> None:
    modeladmin.message_user(request, action_started_message(action))


def _events_html(events: QuerySet[ShowEvent], limit: int = 60) -> SafeString | str:
    rows = [
        (
            _local(e.at),
            _badge(LEVEL_COLOURS.get(e.level, ""), e.get_level_display()),
            e.stage.name if e.stage else "",
            selectors.event_text(e),
        )
        for e in events[:limit]
    ]
    if not rows:
        return "-"
    return format_html(
        "<table class='bo-ivs-events'><tbody>{}</tbody></table>",
        format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td class='bo-ivs-wrap'>{}</td></tr>", rows
        ),
    )


@admin.register(Show)
class ShowAdmin(OperatorActions, ActionHistoryMixin):
    """Shows: created here or with ``POST /api/v1/shows/`` (which creates the master)."""

    list_display = (
        "name",
        "state",
        "viewers",
        "stage_count",
        "doors",
        "broadcaster",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("name",)
    actions = ["end_shows"]
    readonly_fields = (
        "state",
        "doors_opened_at",
        "created_at",
        "ended_at",
        "broadcaster",
        "stages_table",
        "event_log",
        "recent_actions",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "capacity",
                    "scale_up_threshold",
                    "grace_period_s",
                    "max_stages",
                    "reconnect_window_s",
                    "admit_early",
                )
            },
        ),
        (
            _("Now"),
            {"fields": ("state", "doors_opened_at", "broadcaster", "created_at", "ended_at")},
        ),
        (_("Stages"), {"fields": ("stages_table",)}),
        (_("Event log"), {"fields": ("event_log", "recent_actions")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return ()
        # The name names the stages, the capacity is each stage's: fixed once created.
        return ("name", "capacity", *self.readonly_fields)

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return self.fieldsets[:1]
        return super().get_fieldsets(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a show ends (its stages are removed); its record stays

    def save_model(self, request: HttpRequest, obj: Show, form: Any, change: bool) -> None:
        spec = shows.ShowSpec(
            name=obj.name,
            capacity=obj.capacity,
            scale_up_threshold=obj.scale_up_threshold,
            grace_period_s=obj.grace_period_s,
            max_stages=obj.max_stages,
            reconnect_window_s=obj.reconnect_window_s,
            admit_early=obj.admit_early,
        )
        if change:
            shows.show_settings_update(show=obj, spec=spec, actor=_actor(request))
            return
        created, action = shows.show_create(spec=spec, actor=_actor(request))
        obj.pk = created.pk
        _begun(self, request, action)

    @admin.display(description=_("viewers"))
    def viewers(self, obj: Show) -> int:
        return selectors.show_viewer_count(show=obj)

    @admin.display(description=_("stages"))
    def stage_count(self, obj: Show) -> int:
        return len(selectors.stage_list(show=obj))

    @admin.display(description=_("doors"), boolean=True)
    def doors(self, obj: Show) -> bool:
        return obj.doors_open

    @admin.display(description=_("broadcaster"))
    def broadcaster(self, obj: Show) -> str:
        state = selectors.publisher_state(show=obj)
        if state is None:
            return gettext("none yet")
        status = gettext("publishing") if state.publishing else gettext("not publishing")
        return f"{state.user_id} ({state.participant_id}): {status}"

    @admin.display(description=_("stages"))
    def stages_table(self, obj: Show) -> SafeString | str:
        rows = [
            (
                reverse("admin:ivs_scaling_stage_change", args=[s.pk]),
                s.name,
                s.get_role_display(),
                s.get_state_display(),
                f"{s.viewer_count} / {s.capacity}",
                _badge(
                    REPLICATION_COLOURS.get(s.replication_state, ""),
                    s.get_replication_state_display(),
                ),
                s.replication_note,
                s.arn or "-",
            )
            for s in selectors.stage_list(show=obj, live_only=False)[:20]
        ]
        if not rows:
            return "-"
        head = format_html_join(
            "",
            "<th>{}</th>",
            (
                (gettext("stage"),),
                (gettext("role"),),
                (gettext("state"),),
                (gettext("viewers"),),
                (gettext("replication"),),
                (gettext("note"),),
                (gettext("stage ARN"),),
            ),
        )
        body = format_html_join(
            "",
            "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td class='bo-ivs-wrap'>{}</td><td class='bo-ivs-wrap'><code>{}</code></td></tr>",
            rows,
        )
        seats_url = reverse("admin:ivs_scaling_seat_changelist") + f"?show__id__exact={obj.pk}"
        return format_html(
            "<table class='bo-ivs-stages'><thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
            "<p><a href='{}'>{}</a></p>",
            head,
            body,
            seats_url,
            gettext("The viewers' seats"),
        )

    @admin.display(description=_("event log"))
    def event_log(self, obj: Show) -> SafeString | str:
        return _events_html(selectors.event_list(show=obj))

    @admin.display(description=_("recent actions"))
    def recent_actions(self, obj: Show) -> SafeString | str:
        # The show's own (ending it) and its stages' (create, replicate, drain, delete).
        return (
            format_html_join(
                "", "{}", ((action_block(a),) for a in selectors.show_actions(show=obj)[:8])
            )
            or "-"
        )

    @admin.action(permissions=["operator"], description=_("End the selected shows"))
    def end_shows(self, request: HttpRequest, queryset: QuerySet[Show]) -> None:
        for show in queryset:
            try:
                _begun(self, request, shows.show_end(show=show, actor=_actor(request)))
            except ApplicationError as exc:
                self.message_user(request, f"{show.name}: {exc.message}", messages.WARNING)


@admin.register(Stage)
class StageAdmin(OperatorActions, ActionHistoryMixin, ReadOnlyAdmin):
    """Stages: read here; replication and draining through the actions below."""

    list_display = (
        "name",
        "show",
        "role",
        "state",
        "viewers",
        "replication",
        "replication_note",
        "created_at",
    )
    list_filter = ("state", "role", "replication_state", "show")
    search_fields = ("name", "arn", "create_id")
    actions = ["start_replication", "stop_replication", "drain"]
    fields = (
        "show",
        "name",
        "role",
        "state",
        "arn",
        "create_id",
        "capacity",
        "viewer_count",
        "empty_since",
        "replication_state",
        "replication_participant_id",
        "replication_note",
        "replication_changed_at",
        "created_at",
        "activated_at",
        "deleted_at",
        "event_log",
        "recent_actions",
    )
    readonly_fields = fields

    @admin.display(description=_("viewers"), ordering="viewer_count")
    def viewers(self, obj: Stage) -> str:
        return f"{obj.viewer_count} / {obj.capacity}"

    @admin.display(description=_("replication"), ordering="replication_state")
    def replication(self, obj: Stage) -> SafeString:
        return _badge(
            REPLICATION_COLOURS.get(obj.replication_state, ""),
            obj.get_replication_state_display(),
        )

    @admin.display(description=_("event log"))
    def event_log(self, obj: Stage) -> SafeString | str:
        return _events_html(selectors.event_list(stage=obj))

    @admin.display(description=_("recent actions"))
    def recent_actions(self, obj: Stage) -> SafeString | str:
        return action_history(target_type="ivs_stage", target_id=stage_target(obj).id)

    def _each(self, request: HttpRequest, queryset: QuerySet[Stage], begin: Any) -> None:
        for stage in queryset.select_related("show"):
            try:
                _begun(self, request, begin(stage=stage, actor=_actor(request)))
            except ApplicationError as exc:
                self.message_user(request, f"{stage.name}: {exc.message}", messages.WARNING)

    @admin.action(
        permissions=["operator"], description=_("Start replicating the broadcaster into them")
    )
    def start_replication(self, request: HttpRequest, queryset: QuerySet[Stage]) -> None:
        self._each(request, queryset, stages.replication_start_begin)

    @admin.action(permissions=["operator"], description=_("Stop the replication into them"))
    def stop_replication(self, request: HttpRequest, queryset: QuerySet[Stage]) -> None:
        self._each(request, queryset, stages.replication_stop_begin)

    @admin.action(
        permissions=["operator"],
        description=_("Drain them: no new viewers, deleted when the last one leaves"),
    )
    def drain(self, request: HttpRequest, queryset: QuerySet[Stage]) -> None:
        masters = queryset.filter(role=Stage.Role.MASTER).count()
        if masters:
            self.message_user(
                request,
                ngettext(
                    "%(count)d master stage left out: a master cannot be drained.",
                    "%(count)d master stages left out: a master cannot be drained.",
                    masters,
                )
                % {"count": masters},
                messages.WARNING,
            )
        self._each(
            request,
            queryset.filter(role=Stage.Role.SECONDARY, state=Stage.State.ACTIVE),
            stages.stage_drain_begin,
        )


@admin.register(Seat)
class SeatAdmin(ReadOnlyAdmin):
    """The viewers: who sits on which stage, since when, and whether IVS saw them."""

    list_display = ("user_id", "show", "stage", "participant_id", "created_at", "connected_at")
    list_filter = ("show", "stage")
    search_fields = ("user_id", "participant_id")
    fields = (
        "show",
        "stage",
        "user_id",
        "participant_id",
        "created_at",
        "connected_at",
        "expires_at",
    )
    readonly_fields = fields


class EventGroupFilter(admin.SimpleListFilter):
    """The events by what they are about (their kinds are codes, shown on each event's page)."""

    title = _("about")
    parameter_name = "about"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        labels = {
            "broadcaster": _("the broadcaster"),
            "scaling": _("stages and seats"),
            "replication": _("replication"),
            "reconcile": _("the reconcile"),
            "show": _("the show"),
        }
        return [(group, labels[group]) for group in selectors.EVENT_GROUPS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value not in selectors.EVENT_GROUPS:
            return queryset
        return selectors.events_in_group(queryset, value)


@admin.register(ShowEvent)
class ShowEventAdmin(Styled, ReadOnlyAdmin):
    """Every show's event log, in the reader's language (the kind, a code for searching, is
    on each event's page; the sentence says what happened)."""

    list_display = ("when", "show", "stage", "level", "what_happened")
    list_display_links = ("when",)
    list_filter = ("level", EventGroupFilter, "show")
    search_fields = ("text", "kind")
    fields = ("at", "show", "stage", "level", "kind", "what_happened", "action_id")
    readonly_fields = fields

    @admin.display(description=_("time"), ordering="at")
    def when(self, obj: ShowEvent) -> str:
        # To the second: a show's steps come seconds apart, the default format stops at minutes.
        return _local(obj.at)

    @admin.display(description=_("what happened"))
    def what_happened(self, obj: ShowEvent) -> str:
        return selectors.event_text(obj)
