"""HTTP routes of schedules, included at the site root by ``broadcastops.urls``."""

from django.urls import path

from scheduling import api, views

app_name = "scheduling"

urlpatterns = [
    path("api/v1/schedules/", api.ScheduleListApi.as_view(), name="schedule-list"),
    path("api/v1/schedules/upcoming/", api.ScheduleUpcomingApi.as_view(), name="schedule-upcoming"),
    path("api/v1/schedules/<int:pk>/", api.ScheduleDetailApi.as_view(), name="schedule-detail"),
    path(
        "api/v1/schedules/<int:pk>/cancel", api.ScheduleCancelApi.as_view(), name="schedule-cancel"
    ),
    path(
        "calendars/<int:user_id>/<str:token>/mine.ics",
        views.calendar_feed_view,
        name="calendar-operator",
    ),
    path(
        "calendars/<int:user_id>/<str:token>/channel/<str:channel>.ics",
        views.calendar_feed_view,
        name="calendar-channel",
    ),
    path("api/v1/kpis", api.KpiApi.as_view(), name="kpis"),
    path("api/v1/reports/daily", api.DailyReportApi.as_view(), name="report-daily"),
]
