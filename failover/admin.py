"""The failover audit in the console: a verdict column on channels, the audit page, and the
"Fix input failover" action (plan on a confirmation page; stop -> modify -> start only after a
second confirmation). Every action calls a service."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.actions.admin import (
    ActionHistoryMixin,
    ReadOnlyAdmin,
    action_history,
    action_started_message,
    resource_page_redirect,
)
from broadcastops.actions.models import Origin
from broadcastops.actions.selectors import action_outcome
from broadcastops.actions.types import Actor
from broadcastops.errors import ApplicationError, ValidationFailed
from broadcastops.i18n import Message, choice_message
from broadcastops.inventory.models import LiveChannel
from failover import messages as m
from failover import services
from failover.audit import DEFAULT_LOSS_THRESHOLD_MS, DEFAULT_RECOVER_BEHAVIOR, RECOVER_BEHAVIORS
from failover.models import FailoverAudit


def verdict_badge(verdict: str, title: object = "") -> SafeString:
    """The verdict's label in the reader's language; the code and ``title`` on hover. Coloured
    by console.css (bo-verdict-ok, -pending, -off; red otherwise): the Content-Security-Policy
    allows no inline style."""
    return format_html(
        '<span class="bo-badge bo-verdict bo-verdict-{}" title="{}">{}</span>',
        str(verdict).lower(),
        f"{verdict}: {title}" if title else verdict,
        choice_message(m.VERDICT, verdict),
    )


@admin.display(description=_("failover"))
def failover_column(obj: LiveChannel) -> str:
    # The channel list selects the audit with the channel (one query for the whole page).
    try:
        audit = obj.failover_audit
    except FailoverAudit.DoesNotExist:
        return "-"
    return verdict_badge(audit.verdict, audit.reason_message)


def _params(request: HttpRequest) -> dict[str, Any]:
    try:
        threshold = int(request.POST.get("loss_threshold_ms") or DEFAULT_LOSS_THRESHOLD_MS)
    except ValueError as exc:
        raise ValidationFailed(_("The loss threshold is a number of milliseconds.")) from exc
    return {
        "secondary_input_id": request.POST.get("secondary_input_id") or None,
        "loss_threshold_ms": threshold,
        "recover_behavior": request.POST.get("recover_behavior") or DEFAULT_RECOVER_BEHAVIOR,
    }


def _page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    rows: list[dict[str, Any]],
    params: dict[str, Any],
    stop_start: bool,
) -> TemplateResponse:
    return TemplateResponse(
        request,
        "admin/failover/confirm_fix.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": _("Fix input failover"),
            "rows": rows,
            "objects": queryset,
            "params": params,
            "behaviors": RECOVER_BEHAVIORS,
            "single": len(rows) == 1,
            "stop_start": stop_start,
            "action": request.POST.get("action"),
            "opts": modeladmin.model._meta,
        },
    )


@admin.action(permissions=["operator"], description=_("Fix input failover"))
def fix_input_failover(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    """Show the plan of each channel; on confirmation begin the fix (one service call each)
    and say where to follow it."""
    if not user_has_role(request.user, Role.OPERATOR):
        modeladmin.message_user(request, _("Only operators may fix failover."), messages.ERROR)
        return None
    try:
        params = _params(request)
    except ApplicationError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return None
    if request.POST.get("failover_step") != "apply":
        rows = []
        for channel in queryset:
            try:
                rows.append(
                    {"channel": channel, "plan": services.failover_plan(channel=channel, **params)}
                )
            except ApplicationError as exc:
                rows.append({"channel": channel, "error": exc.message, "detail": exc.detail})
        return _page(modeladmin, request, queryset, rows=rows, params=params, stop_start=False)
    allow_stop_start = request.POST.get("allow_stop_start") == "yes"
    override = request.POST.get("override") == "yes"
    offers = []
    begun = []
    for channel in queryset:
        try:
            action = services.failover_apply(
                channel=channel,
                actor=Actor.of(request.user, Origin.ADMIN),
                allow_stop_start=allow_stop_start,
                override=override,
                **params,
            )
        except ApplicationError as exc:
            if exc.code == "stop_start_required":
                offers.append({"channel": channel, "error": exc.message})
            else:
                modeladmin.message_user(request, f"{channel.name}: {exc.message}", messages.ERROR)
        else:
            if action.finished_at:  # nothing to change
                modeladmin.message_user(request, action_outcome(action), messages.SUCCESS)
            else:
                begun.append(channel)
                modeladmin.message_user(request, action_started_message(action), messages.SUCCESS)
    if offers:
        # The second confirmation: stop -> modify -> start, for the channels that need it.
        pks = [o["channel"].pk for o in offers]
        return _page(
            modeladmin,
            request,
            queryset.filter(pk__in=pks),
            rows=offers,
            params=params,
            stop_start=True,
        )
    if len(begun) == 1 and len(queryset) == 1:
        return resource_page_redirect(begun[0])
    return None


@admin.register(FailoverAudit)
class FailoverAuditAdmin(ActionHistoryMixin, ReadOnlyAdmin):
    """The audit page: the last verdict of every channel, why, and what to do."""

    list_display = ("channel", "badge", "reason_text", "audited_at", "changed_at")
    list_filter = ("verdict",)
    search_fields = ("channel__name", "channel__cloud_id")
    list_select_related = ("channel",)
    readonly_fields = (
        "channel",
        "badge",
        "reason_text",
        "details",
        "audited_at",
        "changed_at",
        "recent_fixes",
    )
    fields = readonly_fields

    action_fields = ("recent_fixes",)

    @admin.display(description=_("recent fixes"))
    def recent_fixes(self, obj: FailoverAudit) -> str:
        return action_history(
            target_type="channel", target_id=obj.channel.cloud_id, kinds=(services.FIX_KIND,)
        )

    @admin.display(description=_("verdict"), ordering="verdict")
    def badge(self, obj: FailoverAudit) -> str:
        return verdict_badge(obj.verdict)

    @admin.display(description=_("reason"))
    def reason_text(self, obj: FailoverAudit) -> Message:
        return obj.reason_message

    @admin.display(description=_("details"))
    def details(self, obj: FailoverAudit) -> str:
        report = obj.report_rendered()
        mapping = report.get("mapping") or {}
        inputs = format_html_join(
            "",
            "<div>{} {} [{}]: {} — {}</div>",
            (
                (
                    i["input_id"],
                    i["name"],
                    i["role"] or "-",
                    verdict_badge(i["verdict"]),
                    i["reason"],
                )
                for i in report.get("inputs", [])
            ),
        )
        causes = format_html_join("", "<li>{}</li>", ((c,) for c in report.get("causes", [])))
        steps = format_html_join("", "<li>{}</li>", ((s,) for s in report.get("steps", [])))
        notes = format_html_join("", "<div>⚠️ {}</div>", ((n,) for n in report.get("notes", [])))
        return format_html(
            "{}<p>{}: {} / {}: {} — {} ({})</p>{}"
            "<p><b>{}</b></p><ul>{}</ul><p><b>{}</b></p><ol>{}</ol>",
            inputs,
            _("primary"),
            report.get("primary_input_id") or "?",
            _("backup"),
            report.get("backup_input_id") or "?",
            mapping.get("basis") or "-",
            choice_message(m.CONFIDENCE, mapping.get("confidence") or "none"),
            notes,
            _("Likely causes"),
            causes,
            _("What to do"),
            steps,
        )
