"""Broadcast schedules and their automation steps.

A schedule is one broadcast on one channel between two instants (stored UTC, shown in the
operator's time zone). Its automation is a fixed set of *steps* (the pre-air checks at T-2 h
and T-30 min, the start at T, the stop at the end), one row each with a unique constraint, so
two workers, two beats or a redelivered task can never run a step twice: a step is claimed by
compare-and-set on its state.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from broadcastops.actions.models import OperatorAction
from broadcastops.inventory.models import LiveChannel


class Schedule(models.Model):
    """One broadcast: a title on a channel from ``starts_at`` to ``ends_at``."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CHECKING = "checking", _("Checking")
        ON_AIR = "on_air", _("On air")
        COMPLETED = "completed", _("Completed")
        INTERRUPTED = "interrupted", _("Interrupted")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=200)
    channel = models.ForeignKey(
        LiveChannel, on_delete=models.PROTECT, related_name="schedules", verbose_name=_("channel")
    )
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"), db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_schedules",
        verbose_name=_("assignee"),
    )
    auto_start = models.BooleanField(_("start automatically"), default=False)
    auto_stop = models.BooleanField(_("stop automatically"), default=False)
    # Off by default: on air late beats not on air.
    block_on_failed_check = models.BooleanField(
        _("a failed check blocks the automatic start"), default=False
    )
    notes = models.TextField(_("notes"), blank=True)
    # When it went on air and off air (its own stop, a manual stop, an interruption).
    on_air_at = models.DateTimeField(_("on air at"), null=True, blank=True)
    off_air_at = models.DateTimeField(_("off air at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED, db_index=True
    )
    # The occurrences of one weekly rule share this (each stays editable on its own).
    series = models.CharField(_("series"), max_length=32, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        indexes = [models.Index(fields=["channel", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="schedule_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def active(self) -> bool:
        """Still to air or airing (not completed, interrupted, missed or cancelled)."""
        return self.status in ACTIVE_STATUSES


ACTIVE_STATUSES = (Schedule.Status.SCHEDULED, Schedule.Status.CHECKING, Schedule.Status.ON_AIR)


class ScheduleStep(models.Model):
    """One automation step of a schedule; unique per schedule and kind.

    ``pending`` -> ``claimed`` (a tick took it and queued its task) -> ``running`` (the task
    took it) -> ``done`` / ``failed``; or ``missed`` (found after the grace period),
    ``cancelled`` (the schedule was cancelled), ``skipped`` (its time had passed when the
    schedule was created). Every move is a conditional update that must return 1.
    """

    class Kind(models.TextChoices):
        CHECK_2H = "check_2h", _("Pre-air check (T-2 h)")
        CHECK_30M = "check_30m", _("Pre-air check (T-30 min)")
        START = "start", _("Start")
        STOP = "stop", _("Stop")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        CLAIMED = "claimed", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")
        SKIPPED = "skipped", _("Skipped")

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="steps", verbose_name=_("schedule")
    )
    kind = models.CharField(_("step"), max_length=16, choices=Kind.choices)
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The start's or stop's action in the audit trail (origin: schedule).
    action = models.ForeignKey(
        OperatorAction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("action"),
    )
    # A check's items: [{"item", "ok": true|false|null, "msg": {message}}]; {"ready": bool}.
    result = models.JSONField(_("result"), default=dict, blank=True)
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)  # a stored message
    last_error = models.JSONField(_("last error"), default=dict, blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("schedule step")
        verbose_name_plural = _("schedule steps")
        constraints = [
            models.UniqueConstraint(fields=["schedule", "kind"], name="one_step_per_kind")
        ]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {timezone.localtime(self.due_at):%Y-%m-%d %H:%M}"


class CalendarKey(models.Model):
    """The version of one user's secret calendar URLs: the secret itself is an HMAC of the
    user and this version under ``SECRET_KEY`` (never stored); a new version revokes every
    URL given before."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="calendar_key",
        verbose_name=_("user"),
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    rotated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar key")
        verbose_name_plural = _("calendar keys")

    def __str__(self) -> str:
        return f"{self.user} v{self.version}"


class PlayerStream(models.Model):
    """A player's stream (a MediaMTX path, optionally on one WHEP server) that carries a
    channel's programme: how a player's error report finds the show on air (errorlogs'
    incidents, through ``registry.ON_AIR_LOOKUP``). A mapping without a host matches the path
    on every server; one with the server's host wins over it."""

    channel = models.ForeignKey(
        LiveChannel,
        on_delete=models.CASCADE,
        related_name="player_streams",
        verbose_name=_("channel"),
    )
    stream_path = models.CharField(
        _("player stream path"),
        max_length=200,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$",
                _("A MediaMTX path, e.g. live/kbo (letters, digits, . _ ~ - and /)."),
            )
        ],
        help_text=_("The path players read, e.g. live/kbo (without slashes at either end)."),
    )
    host = models.CharField(
        _("WHEP server"),
        max_length=255,
        blank=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9.-]+(:[0-9]{1,5})?$",
                _("host or host:port in lower case, e.g. mediamtx.example.com:8889."),
            )
        ],
        help_text=_("host[:port] of the MediaMTX server; empty: any server."),
    )

    class Meta:
        ordering = ["stream_path", "host"]
        verbose_name = _("player stream")
        verbose_name_plural = _("player streams")
        constraints = [
            models.UniqueConstraint(fields=["stream_path", "host"], name="one_channel_per_stream")
        ]

    def __str__(self) -> str:
        return f"{self.host}/{self.stream_path}" if self.host else self.stream_path
