"""Shows on Amazon IVS real-time: stages, the broadcaster, viewer seats and the event log.

A ``Show`` is a stage group: one broadcaster publishes to its master ``Stage``; viewers take a
``Seat`` on a stage with room; past the scale-up threshold a secondary stage is created and
the broadcaster is copied into it with participant replication. ``ShowEvent`` is the show's
log: every scaling step, replication change and drift the reconcile fixed, stored as a
translatable sentence and shown in the reader's language.

The counts that keep a stage from overfilling live on the stage row (``viewer_count``, checked
against ``capacity`` by a conditional update and by the database itself), not in a count of
seats, so a join is one short write whatever the audience.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# IVS stage names allow [a-zA-Z0-9-_] (fact sheet §2); stage names derive from the show's.
SHOW_NAME_RE = r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,47}$"
# 5 concurrent replications per participant (not adjustable): master + at most 5 secondaries.
MAX_STAGES = 6
MAX_RECONNECT_WINDOW_S = 300


class Show(models.Model):
    """An interactive show: one broadcaster, up to 1 + 5 stages, the scaling rule."""

    class State(models.TextChoices):
        ACTIVE = "active", _("On")
        ENDING = "ending", _("Ending")
        ENDED = "ended", _("Ended")

    name = models.CharField(
        _("name"),
        max_length=48,
        unique=True,
        validators=[
            RegexValidator(
                SHOW_NAME_RE,
                _("Letters, digits, - and _ only (it names the IVS stages), at most 48."),
            )
        ],
    )
    capacity = models.PositiveIntegerField(
        _("viewers per stage"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text=_("The team's rule, not an IVS limit (IVS allows 10,000 subscribers)."),
    )
    scale_up_threshold = models.PositiveIntegerField(
        _("scale-up threshold"),
        default=45,
        validators=[MinValueValidator(1)],
        help_text=_(
            "A new stage is created when the free seats left on the show's stages fall to "
            "capacity minus this (45 of 50: the last stage has 5 seats left)."
        ),
    )
    grace_period_s = models.PositiveIntegerField(
        _("grace period (s)"),
        default=60,
        help_text=_("How long a secondary stage stays empty before it is removed."),
    )
    max_stages = models.PositiveSmallIntegerField(
        _("maximum stages"),
        default=MAX_STAGES,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_STAGES)],
        help_text=_("The master and at most 5 secondaries (5 replicas per participant)."),
    )
    reconnect_window_s = models.PositiveSmallIntegerField(
        _("reconnect window (s)"),
        default=30,
        validators=[MaxValueValidator(MAX_RECONNECT_WINDOW_S)],
        help_text=_(
            "How long the replicas survive the broadcaster dropping (0-300 s); after that "
            "they end and are started again when the broadcaster is back."
        ),
    )
    admit_early = models.BooleanField(
        _("admit viewers early"),
        default=False,
        help_text=_("Let viewers join before the broadcaster has published."),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.ACTIVE, db_index=True
    )
    # When the broadcaster first published in this show: the doors stay open from then on,
    # so a broadcaster who drops for a moment does not turn viewers away.
    doors_opened_at = models.DateTimeField(_("doors opened"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("show")
        verbose_name_plural = _("shows")
        constraints = [
            models.CheckConstraint(
                condition=Q(scale_up_threshold__lte=F("capacity")),
                name="ivs_show_threshold_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(max_stages__gte=1, max_stages__lte=MAX_STAGES),
                name="ivs_show_max_stages_1_to_6",
            ),
            models.CheckConstraint(
                condition=Q(reconnect_window_s__lte=MAX_RECONNECT_WINDOW_S),
                name="ivs_show_reconnect_window_0_to_300",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def doors_open(self) -> bool:
        return self.admit_early or self.doors_opened_at is not None

    @property
    def headroom_trigger(self) -> int:
        """Free seats left at which a new stage is started (5 for 45 of 50)."""
        return self.capacity - self.scale_up_threshold


class Stage(models.Model):
    """One IVS stage of a show; viewers are counted here, seats hold who they are."""

    class Role(models.TextChoices):
        # Alphabetical order is assignment order: the master first.
        MASTER = "master", _("master")
        SECONDARY = "secondary", _("secondary")

    class State(models.TextChoices):
        CREATING = "creating", _("Creating")
        ACTIVE = "active", _("Active")
        DRAINING = "draining", _("Draining")
        DELETED = "deleted", _("Deleted")

    class Replication(models.TextChoices):
        NONE = "none", _("None (master)")
        PENDING = "pending", _("Pending: waits for the broadcaster")
        ACTIVE = "active", _("Active")
        STOPPED = "stopped", _("Stopped")
        FAILED = "failed", _("Failed")

    show = models.ForeignKey(
        Show, on_delete=models.CASCADE, related_name="stages", verbose_name=_("show")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.CREATING
    )
    name = models.CharField(_("name"), max_length=128)
    arn = models.CharField(_("stage ARN"), max_length=128, blank=True, db_index=True)
    # Sent as the broadcastops:create-id tag: a create whose answer was lost is found by it.
    create_id = models.CharField(_("create id"), max_length=32, unique=True)
    capacity = models.PositiveIntegerField(_("capacity"))
    viewer_count = models.PositiveIntegerField(_("viewers"), default=0)
    # Set when a secondary's last viewer leaves; a viewer arriving clears it.
    empty_since = models.DateTimeField(_("empty since"), null=True, blank=True)
    replication_state = models.CharField(
        _("replication"), max_length=16, choices=Replication.choices, default=Replication.NONE
    )
    # The broadcaster's participant id the replication copies (a new token, a new id).
    replication_participant_id = models.CharField(
        _("replicated participant"), max_length=64, blank=True
    )
    replication_note = models.CharField(_("replication note"), max_length=300, blank=True)
    replication_changed_at = models.DateTimeField(_("replication changed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    activated_at = models.DateTimeField(_("active since"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        ordering = ["show", "role", "-created_at"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            # The database itself refuses an overfilled stage, whatever a caller does.
            models.CheckConstraint(
                condition=Q(viewer_count__lte=F("capacity")), name="ivs_stage_not_over_capacity"
            ),
            models.UniqueConstraint(
                fields=["show"],
                condition=Q(role="master") & ~Q(state="deleted"),
                name="ivs_one_master_per_show",
            ),
            # One stage being created at a time per show: one crossing, one stage.
            models.UniqueConstraint(
                fields=["show"], condition=Q(state="creating"), name="ivs_one_creating_per_show"
            ),
            models.UniqueConstraint(
                fields=["arn"], condition=~Q(arn=""), name="ivs_stage_arn_unique"
            ),
        ]
        indexes = [models.Index(fields=["show", "state"], name="ivs_stage_show_state")]

    def __str__(self) -> str:
        return self.name

    @property
    def stage_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1] if self.arn else ""


class Publisher(models.Model):
    """The show's broadcaster: the participant the token made, and whether it publishes now.

    Mirrored in Redis in the scaled mode (``ivs_scaling.mirror``) for fast reads.
    """

    show = models.OneToOneField(
        Show, on_delete=models.CASCADE, related_name="publisher", verbose_name=_("show")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, related_name="+", verbose_name=_("stage")
    )
    participant_id = models.CharField(_("participant id"), max_length=64)
    user_id = models.CharField(_("user id"), max_length=128)
    publishing = models.BooleanField(_("publishing"), default=False)
    publishing_changed_at = models.DateTimeField(_("publishing changed"), null=True, blank=True)
    token_issued_at = models.DateTimeField(_("token issued"))
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)

    class Meta:
        verbose_name = _("publisher")
        verbose_name_plural = _("publishers")

    def __str__(self) -> str:
        return f"{self.user_id} ({self.participant_id})"


class Seat(models.Model):
    """A viewer's place on a stage: taken at join, freed by leave or expiry.

    ``key`` is the viewer's secret for leaving (participant ids are visible to everyone on a
    stage). ``expires_at`` is the deadline to be seen connected on IVS; once the reconcile
    sees the participant connected it is cleared, and a disconnect frees the seat.
    """

    show = models.ForeignKey(
        Show, on_delete=models.CASCADE, related_name="seats", verbose_name=_("show")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, related_name="seats", verbose_name=_("stage")
    )
    key = models.CharField(_("seat key"), max_length=32, unique=True)
    user_id = models.CharField(_("user id"), max_length=128)
    participant_id = models.CharField(_("participant id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("joined"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)
    connected_at = models.DateTimeField(_("seen connected"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("viewer seat")
        verbose_name_plural = _("viewer seats")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.stage_id}"


class ShowEvent(models.Model):
    """One step in a show's life, as the operator reads it (in the reader's language)."""

    class Level(models.TextChoices):
        INFO = "info", _("info")
        WARNING = "warning", _("warning")
        ERROR = "error", _("error")

    show = models.ForeignKey(
        Show, on_delete=models.CASCADE, related_name="events", verbose_name=_("show")
    )
    stage = models.ForeignKey(
        Stage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        verbose_name=_("stage"),
    )
    at = models.DateTimeField(_("at"), db_index=True)
    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    level = models.CharField(_("level"), max_length=8, choices=Level.choices, default=Level.INFO)
    text = models.TextField(_("what happened"))  # English, for logs and search
    text_msg = models.JSONField(_("sentence"), default=dict)  # {"id", "params"}: read later
    action_id = models.BigIntegerField(_("action"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("show event")
        verbose_name_plural = _("show events")

    def __str__(self) -> str:
        return f"{self.show_id} {self.kind}"
