"""Player error reports, their groups, the outages they reveal, and what the probe saw."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Field limits, shared by the validation of a report and the columns that keep it.
STREAM_ID_MAX = 200
ERROR_TYPE_MAX = 64
ERROR_MESSAGE_MAX = 2000
WHEP_URL_MAX = 2000
WHEP_HOST_MAX = 255
USER_AGENT_MAX = 512
BROWSER_NAME_MAX = 64
BROWSER_VERSION_MAX = 64
OS_MAX = 128
SCREEN_MAX = 32
CLIENT_ID_MAX = 64


class ErrorType(models.TextChoices):
    """What failed. The first five are the player's; the probe records ``probe_failed``."""

    FETCH_ERROR = "fetch_error", _("Network failure")
    WHEP_POST_FAILED = "whep_post_failed", _("WHEP request refused")
    CONNECTION_CLOSED = "connection_closed", _("Connection closed")
    CONNECTION_FAILED = "connection_failed", _("Connection failed")
    UNKNOWN = "unknown", _("Other failure")
    PROBE_FAILED = "probe_failed", _("Server-side probe failed")


PLAYER_ERROR_TYPES = frozenset(ErrorType.values) - {ErrorType.PROBE_FAILED}


class ErrorReport(models.Model):
    """One failure, as a player reported it (or as the server-side probe saw it).

    ``received_at`` is the server's clock, ``client_timestamp`` the player's. The client
    details kept depend on ``ERRORLOGS_CLIENT_DETAILS``; ``client_key`` is a keyed hash of
    the player's identity (its ``clientId``, else address, user agent and screen), so distinct
    viewers can be counted without keeping who they are.
    """

    report_id = models.UUIDField(_("report id"), unique=True)
    received_at = models.DateTimeField(_("received"))
    client_timestamp = models.DateTimeField(_("player's time"), null=True, blank=True)
    stream_id = models.CharField(_("stream"), max_length=STREAM_ID_MAX)
    error_type = models.CharField(_("error type"), max_length=20, choices=ErrorType.choices)
    # What the player sent when it is not one of ErrorType (stored as UNKNOWN).
    error_type_sent = models.CharField(_("error type sent"), max_length=ERROR_TYPE_MAX, blank=True)
    error_message = models.TextField(_("message"), max_length=ERROR_MESSAGE_MAX, blank=True)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    whep_url = models.TextField(_("WHEP URL"), max_length=WHEP_URL_MAX, blank=True)
    whep_host = models.CharField(_("WHEP server"), max_length=WHEP_HOST_MAX, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=USER_AGENT_MAX, blank=True)
    browser_name = models.CharField(_("browser"), max_length=BROWSER_NAME_MAX, blank=True)
    browser_version = models.CharField(
        _("browser version"), max_length=BROWSER_VERSION_MAX, blank=True
    )
    os = models.CharField(_("operating system"), max_length=OS_MAX, blank=True)
    screen_resolution = models.CharField(_("screen"), max_length=SCREEN_MAX, blank=True)
    client_address = models.CharField(_("client address"), max_length=45, blank=True)
    client_key = models.CharField(_("viewer"), max_length=32)
    fingerprint = models.CharField(_("group"), max_length=40)

    class Meta:
        verbose_name = _("error report")
        verbose_name_plural = _("error reports")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="errorlogs_report_latest"),
            models.Index(fields=["stream_id", "-received_at"], name="errorlogs_report_stream"),
            models.Index(fields=["error_type", "-received_at"], name="errorlogs_report_type"),
            models.Index(fields=["whep_host", "-received_at"], name="errorlogs_report_host"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id} {self.error_type} {self.received_at:%Y-%m-%d %H:%M:%S}"


class ErrorGroup(models.Model):
    """Reports with one fingerprint: the same stream, error type, status code and WHEP server."""

    fingerprint = models.CharField(_("fingerprint"), max_length=40, unique=True)
    stream_id = models.CharField(_("stream"), max_length=STREAM_ID_MAX)
    error_type = models.CharField(_("error type"), max_length=20, choices=ErrorType.choices)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    whep_host = models.CharField(_("WHEP server"), max_length=WHEP_HOST_MAX, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"), db_index=True)
    report_count = models.PositiveBigIntegerField(_("reports"), default=0)
    client_count = models.PositiveIntegerField(_("distinct viewers"), default=0)

    class Meta:
        verbose_name = _("error group")
        verbose_name_plural = _("error groups")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.stream_id} {self.error_type} {self.status_code or '-'} {self.whep_host}"


class ErrorGroupClient(models.Model):
    """A viewer seen in a group (what ``ErrorGroup.client_count`` counts)."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="clients")
    client_key = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "client_key"], name="errorlogs_group_client_once"
            )
        ]

    def __str__(self) -> str:
        return self.client_key


class Incident(models.Model):
    """An outage: several viewers failing on one MediaMTX server (or stream) at once, or the
    probe finding it down. Opened once, alerted once, resolved after a quiet period."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    class Trigger(models.TextChoices):
        VIEWERS = "viewers", _("Viewers' reports")
        PROBE = "probe", _("Server-side probe")

    class Verdict(models.TextChoices):
        PENDING = "pending", _("Not probed yet")
        SERVER_DOWN = "server_down", _("MediaMTX server down")
        PATH_NOT_PUBLISHED = "path_not_published", _("Stream not published")
        VIEWERS_ONLY = "viewers_only", _("Server and stream fine: only some viewers fail")
        NOT_PROBED = "not_probed", _("Not a configured MediaMTX server")

    scope_key = models.CharField(_("scope"), max_length=WHEP_HOST_MAX + 16)
    whep_host = models.CharField(_("WHEP server"), max_length=WHEP_HOST_MAX, blank=True)
    server_name = models.CharField(_("MediaMTX server"), max_length=64, blank=True)
    stream_ids = models.JSONField(_("streams"), default=list)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    trigger = models.CharField(_("opened by"), max_length=10, choices=Trigger.choices)
    opened_at = models.DateTimeField(_("opened"))
    first_report_at = models.DateTimeField(_("first failure"))
    last_report_at = models.DateTimeField(_("last failure"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    report_count = models.PositiveIntegerField(_("reports"), default=0)
    viewer_count = models.PositiveIntegerField(_("viewers affected"), default=0)
    verdict = models.CharField(
        _("probe verdict"), max_length=20, choices=Verdict.choices, default=Verdict.PENDING
    )
    probe_detail = models.JSONField(_("what the probe saw"), default=dict, blank=True)
    on_air = models.JSONField(_("on air"), default=list, blank=True)
    alerted_at = models.DateTimeField(_("alert sent"), null=True, blank=True)
    resolution_alerted_at = models.DateTimeField(_("resolution sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope_key"],
                condition=Q(state="open"),
                name="errorlogs_one_open_incident_per_scope",
            )
        ]
        indexes = [models.Index(fields=["state", "last_report_at"], name="errorlogs_incident_open")]

    def __str__(self) -> str:
        return f"{self.scope_key} {self.opened_at:%Y-%m-%d %H:%M}"


class ProbeResult(models.Model):
    """What one probe of a configured MediaMTX server found."""

    class Verdict(models.TextChoices):
        OK = "ok", _("Fine")
        SERVER_DOWN = "server_down", _("Server down")
        PATH_NOT_PUBLISHED = "path_not_published", _("A stream is not published")

    server_name = models.CharField(_("MediaMTX server"), max_length=64)
    probed_at = models.DateTimeField(_("probed"))
    verdict = models.CharField(_("verdict"), max_length=20, choices=Verdict.choices)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.TextField(_("error"), blank=True)
    paths = models.JSONField(_("paths"), default=list, blank=True)
    sessions = models.JSONField(_("WebRTC sessions"), default=dict, blank=True)
    whep = models.JSONField(_("WHEP answers"), default=list, blank=True)

    class Meta:
        verbose_name = _("probe result")
        verbose_name_plural = _("probe results")
        ordering = ["-probed_at"]
        indexes = [
            models.Index(fields=["server_name", "-probed_at"], name="errorlogs_probe_latest")
        ]

    def __str__(self) -> str:
        return f"{self.server_name} {self.verdict} {self.probed_at:%Y-%m-%d %H:%M:%S}"
