from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from broadcastops.i18n import Message


class Notification(models.Model):
    """One alert the console decided to send, and what became of its delivery (the log).

    Repeats of the same ``dedup_key`` inside the de-duplication window do not create rows:
    they increment ``suppressed_count`` on the row that was sent.

    The title, the text, the facts' labels and the actions are stored messages (codes and
    parameters, ``broadcastops.i18n``): each is rendered in the language of whoever reads it
    (``services.notification_render``). Rows from before codes hold plain text, shown as is.
    """

    class Severity(models.TextChoices):
        INFO = "info", _("Info")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")
        RESOLVED = "resolved", _("Resolved")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped (no destination configured)")
        HELD = "held", _("Held back by the throttle")

    event = models.CharField(
        _("event"), max_length=64, help_text=_("What happened, e.g. channel.failover")
    )
    subject = models.CharField(
        _("subject"), max_length=200, help_text=_("What it happened to, e.g. a channel id")
    )
    dedup_key = models.CharField(_("de-duplication key"), max_length=300, db_index=True)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    # A message: {"code", "params"} (or {"text"}).
    title = models.JSONField(_("title"), default=dict)
    text = models.JSONField(_("text"), default=dict, blank=True)
    # [[label message, value], ...]; rows from before codes hold {label: value}.
    facts = models.JSONField(_("facts"), default=list, blank=True)
    # [message, ...]
    actions = models.JSONField(_("what to do"), default=list, blank=True)
    # The users it is for (ids): mentioned in Slack, e-mailed if they chose e-mail.
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    # False for an event that happens once (a schedule's step): never held by the throttle.
    throttled = models.BooleanField(_("throttled"), default=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    destination = models.CharField(_("destination"), max_length=32, default="slack")
    status = models.CharField(
        _("delivery"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # A delivery in progress holds the row until then (services.notification_deliver): a
    # second worker given the same row (a redelivered task, the sweep) leaves it alone.
    claimed_until = models.DateTimeField(_("being delivered until"), null=True, editable=False)
    claimed_by = models.CharField(_("delivered by"), max_length=64, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    suppressed_count = models.PositiveIntegerField(_("repeats held back"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subject", "created_at"])]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.get_severity_display()} {self.event} {self.subject}"

    @property
    def title_message(self) -> Message:
        return Message.from_json(self.title)

    @property
    def text_message(self) -> Message:
        return Message.from_json(self.text)


class NotifyProfile(models.Model):
    """How one user wants to be told: by Slack (mentioned by their Slack id), by e-mail, both
    or neither, and in which language."""

    class Channels(models.TextChoices):
        SLACK = "slack", _("Slack")
        EMAIL = "email", _("E-mail")
        BOTH = "both", _("Slack and e-mail")
        NONE = "none", _("Neither")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notify_profile",
        verbose_name=_("user"),
    )
    slack_user_id = models.CharField(
        _("Slack member id"),
        max_length=32,
        blank=True,
        validators=[
            RegexValidator(r"^[UW][A-Z0-9]{2,30}$", _("A Slack member id looks like U012AB3CD."))
        ],
        help_text=_("Slack: profile, ⋮, Copy member ID (U012AB3CD)."),
    )
    channels = models.CharField(
        _("notify me by"), max_length=8, choices=Channels.choices, default=Channels.SLACK
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="ko"
    )

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")
        constraints = [
            # A Slack member id names one console user: Slack buttons act as that user.
            models.UniqueConstraint(
                fields=["slack_user_id"],
                condition=~models.Q(slack_user_id=""),
                name="notify_profile_one_user_per_slack_id",
                violation_error_message=_(
                    "This Slack member id is already linked to another console user."
                ),
            )
        ]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def by_slack(self) -> bool:
        return self.channels in (self.Channels.SLACK, self.Channels.BOTH)

    @property
    def by_email(self) -> bool:
        return self.channels in (self.Channels.EMAIL, self.Channels.BOTH)
