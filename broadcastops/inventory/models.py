"""The cloud resources as operators think of them and their status history.

Rows are synced from the clouds by ``services.inventory_sync``; links between resources (a
StreamLink flow feeding a StreamLive input, a StreamLive output feeding a StreamPackage
channel or a CSS stream) are derived from endpoints, never typed in. The audit trail of
actions on them is ``broadcastops.actions.models.OperatorAction``.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InputRole(models.TextChoices):
    MAIN = "MAIN", _("MAIN")
    BACKUP = "BACKUP", _("BACKUP")
    NONE = "NONE", _("none")
    UNKNOWN = "UNKNOWN", _("unknown")


class Health(models.TextChoices):
    GREEN = "green", _("Healthy")
    AMBER = "amber", _("Degraded")
    RED = "red", _("Off air")
    IDLE = "idle", _("Idle (not on air)")
    UNKNOWN = "unknown", _("Unknown")


class CloudService(models.TextChoices):
    STREAMLIVE = "mdl", "StreamLive"
    STREAMLINK = "mdc", "StreamLink"
    STREAMPACKAGE = "mdp", "StreamPackage"
    CSS = "live", "CSS"


class ServiceSync(models.Model):
    """Whether one cloud service answers; the dashboard names stale services.

    Written only when that changes; the time of the last good answer of every poll is kept
    in the cache (``services.sync.last_success``), so a quiet poll writes nothing here.
    """

    service = models.CharField(
        _("service"), max_length=8, choices=CloudService.choices, unique=True
    )
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    stale_since = models.DateTimeField(_("stale since"), null=True, blank=True)

    class Meta:
        verbose_name = _("cloud service")
        verbose_name_plural = _("cloud services")

    def __str__(self) -> str:
        return self.get_service_display()


class LiveInput(models.Model):
    """A StreamLive input (RTMP_PUSH, RTP_PUSH, ...) with its normalised ingest endpoints."""

    cloud_id = models.CharField(_("cloud id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    input_type = models.CharField(_("input type"), max_length=32, blank=True)
    # Normalised endpoint keys, one per InputSettings entry (index = pipeline).
    endpoints = models.JSONField(_("endpoints"), default=list, blank=True)
    attached_channel_ids = models.JSONField(_("attached to channels"), default=list, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("StreamLive input")
        verbose_name_plural = _("StreamLive inputs")

    def __str__(self) -> str:
        return self.name or self.cloud_id


class PackageChannel(models.Model):
    """A StreamPackage channel: two ingest URLs (main, backup), no state of its own."""

    cloud_id = models.CharField(_("cloud id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    protocol = models.CharField(_("protocol"), max_length=16, blank=True)
    input_urls = models.JSONField(_("input URLs"), default=list, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("package channel")
        verbose_name_plural = _("package channels")

    def __str__(self) -> str:
        return self.name or self.cloud_id


class CssStream(models.Model):
    """A CSS (live) stream and whether it is being pushed."""

    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        INACTIVE = "inactive", _("inactive")
        FORBID = "forbid", _("forbidden")
        UNKNOWN = "unknown", _("unknown")

    domain = models.CharField(_("domain"), max_length=200)
    app_name = models.CharField(_("app name"), max_length=64, default="live")
    stream_name = models.CharField(_("stream name"), max_length=200)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.UNKNOWN
    )
    publish_started_at = models.DateTimeField(_("pushed since"), null=True, blank=True)

    class Meta:
        ordering = ["stream_name"]
        verbose_name = _("CSS stream")
        verbose_name_plural = _("CSS streams")
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "app_name", "stream_name"], name="css_stream_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.app_name}/{self.stream_name}"


class LiveChannel(models.Model):
    """A StreamLive channel: state, attached inputs with FailOverSettings, derived links."""

    class State(models.TextChoices):
        IDLE = "IDLE", _("Idle")
        STARTING = "STARTING", _("Starting")
        RUNNING = "RUNNING", _("Running")
        STOPPING = "STOPPING", _("Stopping")

    cloud_id = models.CharField(_("cloud id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    # Shown verbatim when unknown: the cloud's enum is not fully documented.
    state = models.CharField(_("state"), max_length=32, db_index=True)
    # [{"id", "failover": {"SecondaryInputId", "LossThreshold", "RecoverBehavior"} | null}]
    attached_inputs = models.JSONField(_("attached inputs"), default=list, blank=True)
    output_groups = models.JSONField(_("output groups"), default=list, blank=True)
    package_channel = models.ForeignKey(
        PackageChannel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="channels",
        verbose_name=_("package channel"),
    )
    css_stream = models.ForeignKey(
        CssStream,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="channels",
        verbose_name=_("CSS stream"),
    )
    active_input = models.CharField(
        _("active input"),
        max_length=8,
        choices=InputRole.choices,
        default=InputRole.UNKNOWN,
        db_index=True,
    )
    # [{"pipeline": 0, "input_id", "role", "alerts": [{"type", "message", "set_time"}]}]
    pipelines = models.JSONField(_("pipelines"), default=list, blank=True)
    health = models.CharField(
        _("health"), max_length=8, choices=Health.choices, default=Health.UNKNOWN, db_index=True
    )
    # What the input-failover audit last found (``services.channel_protection_set``): None
    # until an audit has run; the reason is a stored message (``broadcastops.i18n``).
    input_protected = models.BooleanField(_("input protected"), null=True, blank=True)
    input_protection_reason = models.JSONField(_("input protection"), default=dict, blank=True)
    # Where the channel's push callbacks go (EventNotifySettings; "" = off). Never the key.
    notify_url = models.CharField(_("callback URL"), max_length=500, blank=True, default="")
    # Set when the poll saw the channel switch inputs with callbacks configured but no callback
    # arrived (the URL is probably unreachable from the cloud); cleared by the next callback.
    push_missing_since = models.DateTimeField(_("callbacks missing since"), null=True, blank=True)
    stale_since = models.DateTimeField(_("stale since"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("live channel")
        verbose_name_plural = _("live channels")
        permissions = [("operate_livechannel", "Can start, stop and restart channels")]

    def __str__(self) -> str:
        return self.name

    @property
    def on_air(self) -> bool:
        return self.state in (self.State.RUNNING, self.State.STARTING)

    @property
    def needs_attention(self) -> bool:
        """See ``inventory.attention``: the one definition."""
        from broadcastops.inventory.attention import channel_attention_reasons

        return bool(channel_attention_reasons(self))


class LinkFlow(models.Model):
    """A StreamLink flow, its MAIN/BACKUP role and the StreamLive input its output feeds."""

    class State(models.TextChoices):
        IDLE = "IDLE", _("Idle")
        RUNNING = "RUNNING", _("Running")

    cloud_id = models.CharField(_("cloud id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    state = models.CharField(_("state"), max_length=32, db_index=True)
    role = models.CharField(
        _("role"), max_length=8, choices=InputRole.choices, default=InputRole.UNKNOWN
    )
    # Normalised endpoint keys of the flow's outputs.
    output_endpoints = models.JSONField(_("output endpoints"), default=list, blank=True)
    feeds_input = models.ForeignKey(
        LiveInput,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="flows",
        verbose_name=_("feeds input"),
    )
    stale_since = models.DateTimeField(_("stale since"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("StreamLink flow")
        verbose_name_plural = _("StreamLink flows")
        permissions = [("operate_linkflow", "Can start and stop flows")]

    def __str__(self) -> str:
        return self.name


class ChannelStatus(models.Model):
    """One row per change of a channel's state, active input or health (not per poll)."""

    channel = models.ForeignKey(
        LiveChannel, on_delete=models.CASCADE, related_name="history", verbose_name=_("channel")
    )
    at = models.DateTimeField(_("at"), db_index=True)
    state = models.CharField(_("state"), max_length=32)
    active_input = models.CharField(_("active input"), max_length=8, choices=InputRole.choices)
    health = models.CharField(_("health"), max_length=8, choices=Health.choices)
    pipelines = models.JSONField(_("pipelines"), default=list, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["channel", "at"])]
        verbose_name = _("channel status")
        verbose_name_plural = _("channel statuses")

    def __str__(self) -> str:
        return f"{self.channel} {self.state} {self.active_input} @ {self.at:%Y-%m-%d %H:%M:%S}"


class FailoverEvent(models.Model):
    """An input failover or recovery, recorded once however many polls see it."""

    class Kind(models.TextChoices):
        FAILOVER = "failover", _("Failover to BACKUP")
        RECOVER = "recover", _("Recovered to MAIN")
        INPUT_LOST = "input_lost", _("Input lost")

    class Source(models.TextChoices):
        LOG = "log", _("StreamLive log")
        OBSERVED = "observed", _("Observed change of active input")

    channel = models.ForeignKey(
        LiveChannel,
        on_delete=models.CASCADE,
        related_name="failovers",
        verbose_name=_("channel"),
    )
    pipeline = models.PositiveSmallIntegerField(_("pipeline"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    from_input_id = models.CharField(_("from input"), max_length=64, blank=True)
    to_input_id = models.CharField(_("to input"), max_length=64, blank=True)
    # The StreamLive log's type name (PipelineFailover...), not a sentence of ours.
    message = models.TextField(_("log entry"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = _("failover event")
        verbose_name_plural = _("failover events")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "pipeline", "kind", "occurred_at"],
                name="failover_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} p{self.pipeline} {self.kind} @ {self.occurred_at:%H:%M:%S}"


class PushEvent(models.Model):
    """A StreamLive push callback, accepted once: its fields are the replay key."""

    class Type(models.IntegerChoices):
        PUSHED = 329, _("Push succeeded")
        INTERRUPTED = 330, _("Push interrupted")

    channel = models.ForeignKey(
        LiveChannel,
        on_delete=models.CASCADE,
        related_name="push_events",
        verbose_name=_("channel"),
    )
    input_id = models.CharField(_("input"), max_length=64)
    pipeline = models.PositiveSmallIntegerField(_("pipeline"))
    event_type = models.PositiveSmallIntegerField(_("event"), choices=Type.choices)
    # The callback's ``t``: when its signature expires (the cloud sends it 10 minutes ahead).
    expires_at = models.DateTimeField(_("signature expires at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("push callback")
        verbose_name_plural = _("push callbacks")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "input_id", "pipeline", "event_type", "expires_at"],
                name="push_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.input_id} p{self.pipeline} {self.event_type}"
