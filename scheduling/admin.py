"""Schedules in the console: the list (filters by channel, assignee, status), the add and
change forms (every refusal beside its field, through the services), a schedule's page with
its steps and outcomes, and the cancel action. The week view is ``scheduling.views``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from broadcastops.actions.admin import action_admin_url
from broadcastops.errors import ApplicationError
from broadcastops.i18n import Message
from scheduling import services
from scheduling.models import PlayerStream, Schedule, ScheduleStep
from scheduling.services.checks import CheckResult

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def _local(when: datetime | None) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M") if when else "-"


def status_badge(status: str, label: object) -> SafeString:
    return format_html('<span class="bo-sched bo-sched-{}">{}</span>', status, label)


class ScheduleForm(forms.ModelForm):
    """The model's fields, plus the emergency switch and the weekly rule (add only). Its
    ``clean`` asks the services, so the admin refuses exactly what the API refuses."""

    allow_past = forms.BooleanField(
        label=_("Allow a start in the past (emergency)"), required=False
    )
    repeat_weekdays = forms.TypedMultipleChoiceField(
        label=_("Repeat weekly on"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    repeat_until = forms.DateField(
        label=_("Repeat until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Schedule
        fields = [
            "title",
            "channel",
            "starts_at",
            "ends_at",
            "assignee",
            "auto_start",
            "auto_stop",
            "block_on_failed_check",
            "notes",
        ]

    def repeat(self) -> services.WeeklyRule | None:
        days = self.cleaned_data.get("repeat_weekdays")
        until = self.cleaned_data.get("repeat_until")
        if not days and not until:
            return None
        if not days or not until:
            raise forms.ValidationError(
                _("A weekly repeat needs both its days and its last date."), code="repeat"
            )
        return services.WeeklyRule(weekdays=frozenset(days), until=until)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            if self.instance.pk is None:
                services.schedule_validate(
                    title=data["title"],
                    channel=data["channel"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    allow_past=data.get("allow_past", False),
                    repeat=self.repeat(),
                )
            elif {"starts_at", "ends_at", "channel"} & set(self.changed_data):
                if self.instance.status == Schedule.Status.ON_AIR:
                    if data["ends_at"] <= timezone.now():
                        raise forms.ValidationError(
                            _("The schedule is on air: its new end must be in the future.")
                        )
                else:
                    services.schedule_validate(
                        title=data["title"],
                        channel=data["channel"],
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        allow_past=data.get("allow_past", False),
                        exclude=self.instance.pk,
                    )
        except ApplicationError as exc:
            field = (exc.detail or {}).get("field") if isinstance(exc.detail, dict) else None
            name = field if field in self.fields else None
            if field == "repeat":
                name = "repeat_weekdays"
            self.add_error(name, str(exc.message))
        return data


class StepInline(admin.TabularInline):
    model = ScheduleStep
    extra = 0
    can_delete = False
    fields = (
        "kind",
        "state",
        "due_local",
        "started_local",
        "result_lines",
        "outcome_text",
        "action_link",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("due"))
    def due_local(self, step: ScheduleStep) -> str:
        return _local(step.due_at)

    @admin.display(description=_("started"))
    def started_local(self, step: ScheduleStep) -> str:
        return _local(step.started_at)

    @admin.display(description=_("check"))
    def result_lines(self, step: ScheduleStep) -> SafeString | str:
        if not step.result:
            return "-"
        result = CheckResult.from_json(step.result)
        return format_html_join("", "<div>{}: {}</div>", ((i.label, i.value) for i in result.items))

    @admin.display(description=_("outcome"))
    def outcome_text(self, step: ScheduleStep) -> str:
        said = step.outcome or step.last_error
        return str(Message.from_json(said)) if said else "-"

    @admin.display(description=_("action"))
    def action_link(self, step: ScheduleStep) -> SafeString | str:
        if step.action is None:
            return "-"
        return format_html(
            '<a href="{}">{} ({})</a>',
            action_admin_url(step.action),
            step.action.pk,
            step.action.get_status_display(),
        )


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = (
        "title",
        "channel",
        "starts_local",
        "ends_local",
        "assignee",
        "status_label",
        "automation",
    )
    list_filter = ("status", "channel", "assignee", "auto_start")
    search_fields = ("title", "channel__name", "channel__cloud_id", "notes")
    date_hierarchy = "starts_at"
    list_select_related = ("channel", "assignee")
    inlines = [StepInline]
    actions = ["cancel_schedules"]
    readonly_fields = ("status", "on_air_at", "off_air_at", "series", "created_by", "created_at")

    class Media:
        css = {"all": ("scheduling/schedules.css",)}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = [
            "title",
            "channel",
            ("starts_at", "ends_at"),
            "assignee",
            ("auto_start", "auto_stop", "block_on_failed_check"),
            "notes",
        ]
        if obj is None:
            return [
                (None, {"fields": [*main, "allow_past"]}),
                (_("Weekly repeat"), {"fields": ["repeat_weekdays", "repeat_until"]}),
            ]
        return [
            (None, {"fields": main}),
            (_("Status"), {"fields": ["status", "on_air_at", "off_air_at", "series"]}),
        ]

    @admin.display(description=_("starts"), ordering="starts_at")
    def starts_local(self, obj: Schedule) -> str:
        return _local(obj.starts_at)

    @admin.display(description=_("ends"), ordering="ends_at")
    def ends_local(self, obj: Schedule) -> SafeString:
        """The end's time alone, with "+1" when it falls on a later day than the start (the
        broadcast habit for a show past midnight); the full date on hover. The list stays
        narrow: a second full date on every row pushed the table out of a 1280 px page."""
        ends = timezone.localtime(obj.ends_at)
        days = (ends.date() - timezone.localtime(obj.starts_at).date()).days
        short = f"{ends:%H:%M}"
        if days:
            short = _("%(time)s (+%(days)s d)") % {"time": short, "days": days}
        return format_html('<span title="{}">{}</span>', _local(obj.ends_at), short)

    @admin.display(description=_("automatic"))
    def automation(self, obj: Schedule) -> str:
        """One narrow column for the two switches (two columns of icons did not fit 1280 px)."""
        done = [
            label for on, label in ((obj.auto_start, _("start")), (obj.auto_stop, _("stop"))) if on
        ]
        return " · ".join(str(label) for label in done) or "-"

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj: Schedule) -> SafeString:
        return status_badge(obj.status, obj.get_status_display())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancelled, never deleted: the report counts them

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        """Through the services: a create writes the schedule (or its occurrences) and the
        steps; a change moves the pending steps."""
        try:
            if not change:
                result = services.schedule_create(
                    title=obj.title,
                    channel=obj.channel,
                    starts_at=obj.starts_at,
                    ends_at=obj.ends_at,
                    assignee=obj.assignee,
                    auto_start=obj.auto_start,
                    auto_stop=obj.auto_stop,
                    block_on_failed_check=obj.block_on_failed_check,
                    notes=obj.notes,
                    allow_past=form.cleaned_data.get("allow_past", False),
                    repeat=form.repeat(),
                    created_by=request.user,  # type: ignore[arg-type]
                )
                obj.pk = result.schedules[0].pk
                if len(result.schedules) > 1:
                    self.message_user(
                        request,
                        _("%(n)s schedules were created, one per occurrence.")
                        % {"n": len(result.schedules)},
                    )
            else:
                changes = {name: form.cleaned_data[name] for name in form.changed_data}
                changes.pop("allow_past", None)
                result = services.schedule_update(
                    schedule=obj,
                    changes=changes,
                    allow_past=form.cleaned_data.get("allow_past", False),
                )
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
            raise
        for warning in result.warnings:
            self.message_user(request, warning, messages.WARNING)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return [StepInline] if obj is not None else []  # the services write the steps

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:  # the read-only steps: nothing of theirs is saved here
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    @admin.action(description=_("Cancel the selected schedules"), permissions=["change"])
    def cancel_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        done = 0
        for schedule in queryset:
            try:
                services.schedule_cancel(schedule=schedule)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.WARNING)
        if done:
            self.message_user(request, _("%(n)s schedules cancelled.") % {"n": done})

    def get_urls(self) -> list[Any]:
        from django.urls import path

        from scheduling.views import calendar_links_view, daily_report_view, kpi_view, week_view

        urls = super().get_urls()
        week = path("week/", self.admin_site.admin_view(week_view), name="scheduling_schedule_week")
        report = path(
            "report/",
            self.admin_site.admin_view(daily_report_view),
            name="scheduling_schedule_report",
        )
        kpis = path("kpis/", self.admin_site.admin_view(kpi_view), name="scheduling_schedule_kpis")
        calendars = path(
            "calendars/",
            self.admin_site.admin_view(calendar_links_view),
            name="scheduling_schedule_calendars",
        )
        return [week, report, kpis, calendars, *urls]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        extra = {
            "week_url": reverse("admin:scheduling_schedule_week"),
            "report_url": reverse("admin:scheduling_schedule_report"),
            "kpis_url": reverse("admin:scheduling_schedule_kpis"),
            "calendars_url": reverse("admin:scheduling_schedule_calendars"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)


@admin.register(PlayerStream)
class PlayerStreamAdmin(admin.ModelAdmin):
    """Which channel a player's stream (a MediaMTX path, on one server or any) carries: the
    player error reports' incidents name the show on air through it."""

    list_display = ("stream_path", "host_text", "channel")
    list_filter = ("channel",)
    search_fields = ("stream_path", "host", "channel__name", "channel__cloud_id")
    list_select_related = ("channel",)
    autocomplete_fields = ("channel",)
    fields = ("stream_path", "host", "channel")

    @admin.display(description=_("WHEP server"), ordering="host")
    def host_text(self, obj: PlayerStream) -> str:
        return obj.host or str(_("any server"))
