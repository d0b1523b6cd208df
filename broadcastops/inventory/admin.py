"""The operator console for the inventory. Rows are synced from the clouds, so the admin is
read-only; start/stop/restart are admin actions with a confirmation page that call services."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from broadcastops import registry
from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.actions.admin import (
    ActionHistoryMixin,
    ReadOnlyAdmin,
    action_history,
    action_started_message,
    resource_page_redirect,
)
from broadcastops.actions.models import OperatorAction, Origin
from broadcastops.actions.types import Actor
from broadcastops.errors import ApplicationError
from broadcastops.i18n import choice_message
from broadcastops.inventory import messages as m
from broadcastops.inventory import selectors
from broadcastops.inventory.models import (
    CssStream,
    FailoverEvent,
    LinkFlow,
    LiveChannel,
    LiveInput,
    PackageChannel,
)
from broadcastops.inventory.services import actions
from broadcastops.masking import secrets_mask


def badge(value: str, label: object = None) -> SafeString:
    """A coloured badge: the label in the reader's language, the value as its tooltip. The
    colour comes from console.css by class (bo-green, bo-main, ...), as on the dashboard: the
    Content-Security-Policy allows no inline style."""
    css = re.sub(r"[^a-z0-9-]", "-", str(value).lower())
    return format_html(
        '<span class="bo-badge bo-{}" title="{}">{}</span>', css, value, label or value
    )


def _input_badge(role: str) -> SafeString:
    return badge(role, choice_message(m.INPUT, role))


def _local(when: datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S")


def _lines(template: str, rows: Iterable[Sequence[object]]) -> str:
    """One ``template`` line per row, or a dash when there is none."""
    return format_html_join("", template, rows) or "-"


class StateFilter(admin.SimpleListFilter):
    """The states present, by their labels (the field holds the cloud's own enum)."""

    title = _("state")
    parameter_name = "state"
    labels = m.CHANNEL_STATE

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        states = model_admin.get_queryset(request).order_by("state").values_list("state", flat=True)
        return [(s, choice_message(self.labels, s)) for s in states.distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(state=self.value()) if self.value() else queryset


class AttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # The one definition (inventory.attention), as the dashboard and the API use it.
        if self.value() == "yes":
            return queryset.filter(selectors.ATTENTION)
        if self.value() == "no":
            return queryset.exclude(selectors.ATTENTION)
        return queryset


# The verbs the confirmation page puts in its sentence, in the reader's language.
VERBS = {
    "start": _("start"),
    "stop": _("stop"),
    "restart": _("restart"),
    "callbacks": _("configure push callbacks on"),
}


def _confirm_and_run(
    modeladmin: admin.ModelAdmin[LiveChannel],
    request: HttpRequest,
    queryset: QuerySet[LiveChannel],
    verb: str,
    service: Callable[..., OperatorAction],
) -> HttpResponse | None:
    """Show a confirmation page first; on confirmation begin the action on each channel and
    say where to follow it (the channel's page, when there is one channel)."""
    if not user_has_role(request.user, Role.OPERATOR):
        modeladmin.message_user(request, _("Only operators may act on channels."), messages.ERROR)
        return None
    if request.POST.get("confirmed") != "yes":
        return TemplateResponse(
            request,
            "admin/inventory/confirm_action.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": _("Confirm: %(verb)s") % {"verb": VERBS.get(verb, verb)},
                "verb": VERBS.get(verb, verb),
                "objects": queryset,
                "action": request.POST.get("action"),
                "opts": modeladmin.model._meta,
            },
        )
    override = request.POST.get("override") == "yes"
    actor = Actor.of(request.user, Origin.ADMIN)
    begun = []
    for channel in queryset:
        try:
            action = service(channel=channel, actor=actor, override=override)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{channel.name}: {exc.message}", messages.ERROR)
        else:
            begun.append(channel)
            modeladmin.message_user(request, action_started_message(action), messages.SUCCESS)
    if len(begun) == 1 and len(queryset) == 1:
        return resource_page_redirect(begun[0])
    return None


@admin.register(LiveChannel)
class LiveChannelAdmin(ActionHistoryMixin, ReadOnlyAdmin):
    list_display = ("name", "state_badge", "input_badge", "health_badge", "stale", "changed_at")
    list_filter = (StateFilter, "active_input", "health", AttentionFilter)
    search_fields = ("name", "cloud_id")
    readonly_fields = (
        "name",
        "cloud_id",
        "state_badge",
        "input_badge",
        "health_badge",
        "stale_since",
        "pipelines_table",
        "linked",
        "diagnosis",
        "timeline",
        "failover_events",
        "recent_actions",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "cloud_id",
                    "state_badge",
                    "input_badge",
                    "health_badge",
                    "stale_since",
                )
            },
        ),
        (_("Pipelines"), {"fields": ("pipelines_table",)}),
        (_("Linked resources"), {"fields": ("linked",)}),
        (_("Diagnosis"), {"fields": ("diagnosis",)}),
        (_("History"), {"fields": ("recent_actions", "timeline", "failover_events")}),
    )

    # A property, not a list: other apps add theirs to the registry in ready(), after this
    # class exists (failover: "Fix input failover"); Django's checks and permission filters
    # still see one list.
    @property
    def actions(self) -> list[str | Callable[..., Any]]:  # type: ignore[override]
        return [
            "start_channels",
            "stop_channels",
            "restart_channels",
            "configure_callbacks",
            *registry.CHANNEL_ADMIN_ACTIONS.all(),
        ]

    def get_list_display(self, request: HttpRequest) -> tuple[Any, ...]:
        return (*self.list_display, *registry.CHANNEL_ADMIN_COLUMNS.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet[LiveChannel]:
        # Rows other apps keep one-to-one with a channel (failover's audit, shown in its
        # column) come in the same query: the list costs the same with 10 or 1000 channels.
        extensions = [
            name
            for r in LiveChannel._meta.related_objects
            if r.one_to_one and (name := r.get_accessor_name())
        ]
        return (
            super()
            .get_queryset(request)
            .filter(removed_at__isnull=True)
            .select_related(*extensions)
        )

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Actions need the changelist's "change" gate; editing itself stays impossible
        # because every field is read-only.
        return user_has_role(request.user, Role.OPERATOR)

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj: Any) -> str:
        return badge(obj.state, choice_message(m.CHANNEL_STATE, obj.state))

    @admin.display(description=_("input"), ordering="active_input")
    def input_badge(self, obj: Any) -> str:
        return _input_badge(obj.active_input)

    @admin.display(description=_("health"), ordering="health")
    def health_badge(self, obj: Any) -> str:
        return badge(obj.health, obj.get_health_display())

    @admin.display(description=_("data"))
    def stale(self, obj: Any) -> str:
        if obj.stale_since:
            return format_html(
                '<span class="bo-stale">{}</span>',
                _("stale since %(time)s")
                % {"time": timezone.localtime(obj.stale_since).strftime("%H:%M:%S")},
            )
        return str(_("fresh"))

    @admin.display(description=_("pipelines"))
    def pipelines_table(self, obj: Any) -> str:
        return _lines(
            "<div>{} {} {} {}</div>",
            (
                (
                    _("pipeline %(pipeline)s:") % {"pipeline": p["pipeline"]},
                    _input_badge(p["role"]),
                    p.get("input_id", ""),
                    "; ".join(a["type"] for a in p.get("alerts", [])),
                )
                for p in obj.pipelines or []
            ),
        )

    @admin.display(description=_("linked"))
    def linked(self, obj: Any) -> str:
        flows = selectors.channel_flows(obj)
        rows: list[tuple[str, object]] = [
            (
                f"StreamLink {choice_message(m.INPUT, f.role)}",
                f"{f.name} ({choice_message(m.FLOW_STATE, f.state)})",
            )
            for f in flows
        ]
        not_linked = _("not linked")
        rows.append(("StreamPackage", str(obj.package_channel or not_linked)))
        css = obj.css_stream
        css_state = choice_message(m.CSS_STATE, css.state) if css else None
        rows.append(("CSS", f"{css} ({css_state})" if css else not_linked))
        return format_html_join("", "<div><b>{}</b>: {}</div>", rows)

    @admin.display(description=_("diagnosis"))
    def diagnosis(self, obj: Any) -> str:
        d = selectors.channel_status_get(channel=obj)
        lines = format_html_join(
            "",
            "<div>{} {}: {}</div>",
            (("✅" if ln.ok else "❌", ln.service, ln.text) for ln in d.lines),
        )
        actions_html = format_html_join("", "<li>{}</li>", ((a,) for a in d.actions))
        attention = format_html_join(
            "",
            '<div class="bo-reasons">⚠️ {}: {}</div>',
            ((_("Needs attention"), r) for r in d.attention),
        )
        return format_html(
            "{}{}<p><b>{}</b></p><ol>{}</ol>", lines, attention, d.cause, actions_html
        )

    @admin.display(description=_("recent actions"))
    def recent_actions(self, obj: Any) -> str:
        # Starts, stops, restarts and failover fixes, with their progress as they run.
        return action_history(target_type="channel", target_id=obj.cloud_id)

    @admin.display(description=_("status timeline"))
    def timeline(self, obj: Any) -> str:
        return _lines(
            "<div>{} — {} {} {}</div>",
            (
                (
                    _local(r.at),
                    choice_message(m.CHANNEL_STATE, r.state),
                    _input_badge(r.active_input),
                    badge(r.health, r.get_health_display()),
                )
                for r in obj.history.all()[:30]
            ),
        )

    @admin.display(description=_("failover events"))
    def failover_events(self, obj: Any) -> str:
        return _lines(
            "<div>{} — {} {} ({})</div>",
            (
                (
                    _local(e.occurred_at),
                    _("pipeline %(pipeline)s:") % {"pipeline": e.pipeline},
                    e.get_kind_display(),
                    e.get_source_display(),
                )
                for e in obj.failovers.all()[:30]
            ),
        )

    @admin.action(permissions=["operator"], description=_("Start selected channels"))
    def start_channels(
        self, request: HttpRequest, queryset: QuerySet[LiveChannel]
    ) -> HttpResponse | None:
        return _confirm_and_run(self, request, queryset, "start", actions.channel_start)

    @admin.action(permissions=["operator"], description=_("Stop selected channels"))
    def stop_channels(
        self, request: HttpRequest, queryset: QuerySet[LiveChannel]
    ) -> HttpResponse | None:
        return _confirm_and_run(self, request, queryset, "stop", actions.channel_stop)

    @admin.action(permissions=["operator"], description=_("Restart selected channels"))
    def restart_channels(
        self, request: HttpRequest, queryset: QuerySet[LiveChannel]
    ) -> HttpResponse | None:
        return _confirm_and_run(self, request, queryset, "restart", actions.channel_restart)

    @admin.action(
        permissions=["operator"], description=_("Configure push callbacks on selected channels")
    )
    def configure_callbacks(
        self, request: HttpRequest, queryset: QuerySet[LiveChannel]
    ) -> HttpResponse | None:
        return _confirm_and_run(
            self, request, queryset, "callbacks", actions.channel_push_events_configure
        )


class FlowStateFilter(StateFilter):
    labels = m.FLOW_STATE


class PushUrlsAdmin(ReadOnlyAdmin):
    """Shows its push-URL fields whole to Operators; to Viewers with the stream keys masked
    (anyone holding a key can push into the input). Each field ``f`` in ``url_fields`` has a
    display method ``f_masked``."""

    url_fields: tuple[str, ...] = ()

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        fields = super().get_fields(request, obj)
        if user_has_role(request.user, Role.OPERATOR):
            return list(fields)
        return [f"{f}_masked" if f in self.url_fields else f for f in fields]


def _masked_urls(urls: Iterable[object] | None) -> str:
    return _lines("<div>{}</div>", ((secrets_mask(str(u)),) for u in urls or []))


@admin.register(LinkFlow)
class LinkFlowAdmin(ActionHistoryMixin, PushUrlsAdmin):
    list_display = ("name", "state_badge", "role", "feeds_input", "stale_since")
    list_filter = (FlowStateFilter, "role")
    search_fields = ("name", "cloud_id")
    list_select_related = ("feeds_input",)
    fields = (
        "name",
        "cloud_id",
        "state_badge",
        "role",
        "feeds_input",
        "output_endpoints",
        "stale_since",
        "recent_actions",
    )
    readonly_fields = (*fields, "output_endpoints_masked")
    url_fields = ("output_endpoints",)

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj: Any) -> str:
        return badge(obj.state, choice_message(m.FLOW_STATE, obj.state))

    @admin.display(description=_("output endpoints"))
    def output_endpoints_masked(self, obj: Any) -> str:
        return _masked_urls(obj.output_endpoints)

    @admin.display(description=_("recent actions"))
    def recent_actions(self, obj: Any) -> str:
        return action_history(target_type="flow", target_id=obj.cloud_id)


@admin.register(LiveInput)
class LiveInputAdmin(PushUrlsAdmin):
    list_display = ("name", "cloud_id", "input_type")
    search_fields = ("name", "cloud_id")
    url_fields = ("endpoints",)

    @admin.display(description=_("endpoints"))
    def endpoints_masked(self, obj: Any) -> str:
        return _masked_urls(obj.endpoints)


@admin.register(PackageChannel)
class PackageChannelAdmin(PushUrlsAdmin):
    list_display = ("name", "cloud_id", "protocol")
    url_fields = ("input_urls",)

    @admin.display(description=_("input URLs"))
    def input_urls_masked(self, obj: Any) -> str:
        return _masked_urls(obj.input_urls)


@admin.register(CssStream)
class CssStreamAdmin(ReadOnlyAdmin):
    list_display = ("stream_name", "app_name", "domain", "state")
    list_filter = ("state",)


@admin.register(FailoverEvent)
class FailoverEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "channel", "pipeline", "kind", "source")
    list_filter = ("kind", "source")
    date_hierarchy = "occurred_at"
