"""The week view: schedules by channel and day, with overlaps and gaps visible."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from broadcastops.errors import NotFound
from scheduling.calendars import (
    calendar_channel_ics,
    calendar_key_rotate,
    calendar_links,
    calendar_operator_ics,
    calendar_user,
)
from scheduling.kpis import MAX_KPI_DAYS, Kpi, kpis_get
from scheduling.models import Schedule
from scheduling.reports import daily_report_get, day_bounds, duration_text, report_lines
from scheduling.selectors import schedule_week


@dataclass
class Cell:
    items: list[dict[str, Any]] = field(default_factory=list)


def _week_start(raw: str | None) -> date:
    today = timezone.localdate()
    day = parse_date(raw) if raw else None
    day = day or today
    return day - timedelta(days=day.weekday())


def week_view(request: HttpRequest) -> HttpResponse:
    """Seven local days from a Monday (``?start=YYYY-MM-DD``), one row per channel."""
    first = _week_start(request.GET.get("start"))
    zone = timezone.get_current_timezone()
    start = datetime.combine(first, time(0, 0), tzinfo=zone)
    days = [first + timedelta(days=n) for n in range(7)]
    schedules = schedule_week(start=start)
    rows: dict[str, list[Cell]] = {}
    by_channel: dict[str, list[Schedule]] = {}
    for schedule in schedules:
        by_channel.setdefault(schedule.channel.name, []).append(schedule)
    for channel, items in by_channel.items():
        cells = [Cell() for _ in days]
        previous: Schedule | None = None
        for schedule in items:
            local_start = timezone.localtime(schedule.starts_at)
            local_end = timezone.localtime(schedule.ends_at)
            index = (local_start.date() - first).days
            if not 0 <= index < 7:
                index = 0 if index < 0 else 6
            overlap = previous is not None and schedule.starts_at < previous.ends_at
            if previous is not None and not overlap:
                gap_start = timezone.localtime(previous.ends_at)
                if gap_start.date() == local_start.date() and schedule.starts_at > previous.ends_at:
                    cells[index].items.append(
                        {
                            "gap": True,
                            "text": _("free %(start)s to %(end)s")
                            % {
                                "start": gap_start.strftime("%H:%M"),
                                "end": local_start.strftime("%H:%M"),
                            },
                        }
                    )
            if overlap and previous is not None:
                for cell in cells:
                    for item in cell.items:
                        if item.get("pk") == previous.pk:
                            item["overlap"] = True
            cells[index].items.append(
                {
                    "pk": schedule.pk,
                    "url": reverse("admin:scheduling_schedule_change", args=[schedule.pk]),
                    "title": schedule.title,
                    "time": f"{local_start:%H:%M} - {local_end:%H:%M}",
                    "status": schedule.status,
                    "status_label": schedule.get_status_display(),
                    "assignee": schedule.assignee.get_username() if schedule.assignee else "",
                    "overlap": overlap,
                }
            )
            if previous is None or schedule.ends_at > previous.ends_at:
                previous = schedule
        rows[channel] = cells
    context = {
        **admin.site.each_context(request),
        "title": _("Week of %(date)s") % {"date": date_format(first, "Y-m-d")},
        "days": days,
        "rows": rows,
        "previous": (first - timedelta(days=7)).isoformat(),
        "next": (first + timedelta(days=7)).isoformat(),
        "today": _week_start(None).isoformat(),
        "opts": Schedule._meta,
    }
    return TemplateResponse(request, "admin/scheduling/week.html", context)


def daily_report_view(request: HttpRequest) -> HttpResponse:
    """One local day's report (``?date=YYYY-MM-DD``, default today), in the reader's language."""
    raw = request.GET.get("date")
    try:
        day = parse_date(raw) if raw else None
    except ValueError:
        day = None
    error = _("The date must be YYYY-MM-DD, e.g. 2026-12-01.") if raw and day is None else ""
    day = day or timezone.localdate()
    report = daily_report_get(day=day)
    context = {
        **admin.site.each_context(request),
        **report_lines(report),
        "report": report,
        "error": error,
        "day": day.isoformat(),
        "previous": (day - timedelta(days=1)).isoformat(),
        "next": (day + timedelta(days=1)).isoformat(),
        "opts": Schedule._meta,
    }
    return TemplateResponse(
        request, "admin/scheduling/daily_report.html", context, status=400 if error else 200
    )


BAR_MAX_PX = 320


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _minutes(seconds: int | None) -> str:
    return "-" if seconds is None else duration_text(seconds)


def _chart(
    title: str, definition: str, kpis: list[Kpi], attr: str, scale: float | None
) -> dict[str, Any]:
    values = [getattr(k, attr) for k in kpis]
    top = scale or max([v for v in values if v] or [1])
    show = _minutes if attr == "mttr_s" else _percent
    if attr == "failover_rate":
        show = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    rows = [
        {
            "label": k.channel or _("All channels"),
            "text": show(v),
            "width": int(BAR_MAX_PX * min(1.0, (v or 0) / top)),
            "y": 24 * n,
        }
        for n, (k, v) in enumerate(zip(kpis, values, strict=True))
    ]
    return {"title": title, "definition": definition, "rows": rows, "height": 24 * len(rows)}


def kpi_view(request: HttpRequest) -> HttpResponse:
    """KPIs over ``?from=&to=`` (local days, ``to`` included; default the last 7 days) as
    numbers and server-side SVG bars, with their definitions."""
    today = timezone.localdate()
    error = ""
    try:
        first = parse_date(request.GET.get("from") or "") or today - timedelta(days=6)
        last = parse_date(request.GET.get("to") or "") or today
    except ValueError:
        first, last = today - timedelta(days=6), today
        error = _("The date must be YYYY-MM-DD, e.g. 2026-12-01.")
    if last < first or (last - first).days >= MAX_KPI_DAYS:
        error = _("Give a period of 1 to %(days)s days, “to” not before “from”.") % {
            "days": MAX_KPI_DAYS
        }
        first, last = today - timedelta(days=6), today
    report = kpis_get(starts=day_bounds(first)[0], ends=day_bounds(last)[1])
    rows = [report.overall, *report.channels]
    charts = [
        _chart(
            _("Availability"),
            _("Time on air (running, not off air) inside the scheduled windows / scheduled time."),
            rows,
            "availability",
            1.0,
        ),
        _chart(
            _("Failover rate"),
            _("Failovers to BACKUP / broadcasts (schedules starting in the period)."),
            rows,
            "failover_rate",
            None,
        ),
        _chart(
            _("MTTR"),
            _(
                "Mean time to recover: from off air (health red) back to on air, over the "
                "incidents that recovered in the period."
            ),
            rows,
            "mttr_s",
            None,
        ),
        _chart(
            _("Automation rate"),
            _("Starts and stops taken by a schedule / all starts and stops of the channel."),
            rows,
            "automation_rate",
            1.0,
        ),
        _chart(
            _("MAIN-input stability"),
            _("Time running on the MAIN input / time running."),
            rows,
            "main_stability",
            1.0,
        ),
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("KPIs %(first)s to %(last)s")
        % {"first": first.isoformat(), "last": last.isoformat()},
        "rows": [
            {
                "label": k.channel or _("All channels"),
                "availability": _percent(k.availability),
                "failover_rate": "-" if k.failover_rate is None else f"{k.failover_rate:.2f}",
                "mttr": _minutes(k.mttr_s),
                "automation_rate": _percent(k.automation_rate),
                "main_stability": _percent(k.main_stability),
                "broadcasts": k.broadcasts,
                "failovers": k.failovers,
                "incidents": k.incidents,
            }
            for k in rows
        ],
        "charts": charts,
        "bar_max": BAR_MAX_PX,
        "error": error,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "opts": Schedule._meta,
    }
    return TemplateResponse(
        request, "admin/scheduling/kpis.html", context, status=400 if error else 200
    )


@require_GET
def calendar_feed_view(
    request: HttpRequest, user_id: int, token: str, channel: str | None = None
) -> HttpResponse:
    """An iCalendar feed behind the user's secret URL (no login: calendar apps have none).
    A wrong, revoked or inactive user's URL is a plain 404, whichever it is."""
    try:
        user = calendar_user(user_id=user_id, token=token)
        body = (
            calendar_channel_ics(key=channel)
            if channel is not None
            else calendar_operator_ics(user=user)
        )
    except NotFound as exc:
        return HttpResponse(str(exc.message), status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


def calendar_links_view(request: HttpRequest) -> HttpResponse:
    """The reader's own secret feed URLs; POST gives them a new secret (revoking the old)."""
    if request.method == "POST":
        calendar_key_rotate(user=request.user)  # type: ignore[arg-type]
        messages.success(request, _("New calendar URLs: the old ones no longer work."))
        return HttpResponseRedirect(request.path)
    links = calendar_links(user=request.user)  # type: ignore[arg-type]
    context = {
        **admin.site.each_context(request),
        "title": _("My calendar feeds"),
        "operator_url": request.build_absolute_uri(str(links["operator"])),
        "channel_urls": [
            (name, request.build_absolute_uri(path))
            for name, path in links["channels"]  # type: ignore[attr-defined]
        ],
        "opts": Schedule._meta,
    }
    return TemplateResponse(request, "admin/scheduling/calendars.html", context)
