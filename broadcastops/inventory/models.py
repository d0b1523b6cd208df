"""The cloud resources as operators think of them and their status history.

Rows are synced from the clouds by ``services.inventory_sync``; links between resources (a
StreamLink flow feeding a StreamLive input, a StreamLive output feeding a StreamPackage
channel or a CSS stream) are derived from endpoints, never typed in. The audit trail of
actions on them is ``broadcastops.actions.models.OperatorAction``.
"""

from django.db import models


class InputRole(models.TextChoices):
    MAIN = "MAIN", "MAIN"
    BACKUP = "BACKUP", "BACKUP"
    NONE = "NONE", "none"
    UNKNOWN = "UNKNOWN", "unknown"


class Health(models.TextChoices):
    GREEN = "green", "Healthy"
    AMBER = "amber", "Degraded"
    RED = "red", "Off air"
    IDLE = "idle", "Idle (not on air)"
    UNKNOWN = "unknown", "Unknown"


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

    service = models.CharField(max_length=8, choices=CloudService.choices, unique=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    stale_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.get_service_display()


class LiveInput(models.Model):
    """A StreamLive input (RTMP_PUSH, RTP_PUSH, ...) with its normalised ingest endpoints."""

    cloud_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    input_type = models.CharField(max_length=32, blank=True)
    # Normalised endpoint keys, one per InputSettings entry (index = pipeline).
    endpoints = models.JSONField(default=list, blank=True)
    attached_channel_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.cloud_id


class PackageChannel(models.Model):
    """A StreamPackage channel: two ingest URLs (main, backup), no state of its own."""

    cloud_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    protocol = models.CharField(max_length=16, blank=True)
    input_urls = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.cloud_id


class CssStream(models.Model):
    """A CSS (live) stream and whether it is being pushed."""

    class State(models.TextChoices):
        ACTIVE = "active", "active"
        INACTIVE = "inactive", "inactive"
        FORBID = "forbid", "forbidden"
        UNKNOWN = "unknown", "unknown"

    domain = models.CharField(max_length=200)
    app_name = models.CharField(max_length=64, default="live")
    stream_name = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.UNKNOWN)
    publish_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["stream_name"]
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
        IDLE = "IDLE", "Idle"
        STARTING = "STARTING", "Starting"
        RUNNING = "RUNNING", "Running"
        STOPPING = "STOPPING", "Stopping"

    cloud_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    # Shown verbatim: the cloud's enum is not fully documented.
    state = models.CharField(max_length=32, db_index=True)
    # [{"id", "failover": {"SecondaryInputId", "LossThreshold", "RecoverBehavior"} | null}]
    attached_inputs = models.JSONField(default=list, blank=True)
    output_groups = models.JSONField(default=list, blank=True)
    package_channel = models.ForeignKey(
        PackageChannel, null=True, blank=True, on_delete=models.SET_NULL, related_name="channels"
    )
    css_stream = models.ForeignKey(
        CssStream, null=True, blank=True, on_delete=models.SET_NULL, related_name="channels"
    )
    active_input = models.CharField(
        max_length=8, choices=InputRole.choices, default=InputRole.UNKNOWN, db_index=True
    )
    # [{"pipeline": 0, "input_id", "role", "alerts": [{"type", "message", "set_time"}]}]
    pipelines = models.JSONField(default=list, blank=True)
    health = models.CharField(
        max_length=8, choices=Health.choices, default=Health.UNKNOWN, db_index=True
    )
    stale_since = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("operate_livechannel", "Can start, stop and restart channels")]

    def __str__(self) -> str:
        return self.name

    @property
    def on_air(self) -> bool:
        return self.state in (self.State.RUNNING, self.State.STARTING)

    @property
    def needs_attention(self) -> bool:
        return self.health in (Health.AMBER, Health.RED) or self.stale_since is not None


class LinkFlow(models.Model):
    """A StreamLink flow, its MAIN/BACKUP role and the StreamLive input its output feeds."""

    class State(models.TextChoices):
        IDLE = "IDLE", "Idle"
        RUNNING = "RUNNING", "Running"

    cloud_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    state = models.CharField(max_length=32, db_index=True)
    role = models.CharField(max_length=8, choices=InputRole.choices, default=InputRole.UNKNOWN)
    # Normalised endpoint keys of the flow's outputs.
    output_endpoints = models.JSONField(default=list, blank=True)
    feeds_input = models.ForeignKey(
        LiveInput, null=True, blank=True, on_delete=models.SET_NULL, related_name="flows"
    )
    stale_since = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("operate_linkflow", "Can start and stop flows")]

    def __str__(self) -> str:
        return self.name


class ChannelStatus(models.Model):
    """One row per change of a channel's state, active input or health (not per poll)."""

    channel = models.ForeignKey(LiveChannel, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=32)
    active_input = models.CharField(max_length=8, choices=InputRole.choices)
    health = models.CharField(max_length=8, choices=Health.choices)
    pipelines = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["channel", "at"])]
        verbose_name_plural = "channel statuses"

    def __str__(self) -> str:
        return f"{self.channel} {self.state} {self.active_input} @ {self.at:%Y-%m-%d %H:%M:%S}"


class FailoverEvent(models.Model):
    """An input failover or recovery, recorded once however many polls see it."""

    class Kind(models.TextChoices):
        FAILOVER = "failover", "Failover to BACKUP"
        RECOVER = "recover", "Recovered to MAIN"
        INPUT_LOST = "input_lost", "Input lost"

    class Source(models.TextChoices):
        LOG = "log", "StreamLive log"
        OBSERVED = "observed", "Observed change of active input"

    channel = models.ForeignKey(LiveChannel, on_delete=models.CASCADE, related_name="failovers")
    pipeline = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    occurred_at = models.DateTimeField(db_index=True)
    from_input_id = models.CharField(max_length=64, blank=True)
    to_input_id = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "pipeline", "kind", "occurred_at"],
                name="failover_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} p{self.pipeline} {self.kind} @ {self.occurred_at:%H:%M:%S}"
