"""What the assistants keep: the Slack requests they acted on (so a retry never acts twice)
and the approvals an MCP write waits for."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SlackRequest(models.Model):
    """One Slack interaction taken on: its key is unique, so Slack's retries of it (and a
    second web process receiving one) find the row and act no more. The follow-up task
    answers through ``response_url`` (cleared once it is done: it lets anyone post for 30
    minutes)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    key = models.CharField(_("key"), max_length=200, unique=True)
    slack_user_id = models.CharField(_("Slack member id"), max_length=32)
    slack_user_name = models.CharField(_("Slack user name"), max_length=100, blank=True)
    control = models.CharField(_("button or menu"), max_length=64)
    value = models.CharField(_("value"), max_length=200, blank=True)
    response_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # The operator action it began, if any (broadcastops.actions).
    action = models.ForeignKey(
        "actions.OperatorAction", null=True, blank=True, on_delete=models.SET_NULL
    )
    outcome_code = models.CharField(_("outcome code"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("Slack request")
        verbose_name_plural = _("Slack requests")

    def __str__(self) -> str:
        return f"{self.slack_user_id} {self.control} {self.value}"


class Approval(models.Model):
    """A write an AI assistant asked for through the MCP server, waiting for an Operator to
    press Approve (or Deny) in Slack; it expires after ``MCP_APPROVAL_TIMEOUT_S``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")
        EXPIRED = "expired", _("Expired")

    tool = models.CharField(_("tool"), max_length=64)
    arguments = models.JSONField(_("arguments"), default=dict)
    plan = models.JSONField(_("plan"), default=dict)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("asked by"),
    )
    client_name = models.CharField(_("assistant"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_slack_user = models.CharField(_("decided in Slack by"), max_length=140, blank=True)
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("assistant approval")
        verbose_name_plural = _("assistant approvals")

    def __str__(self) -> str:
        return f"{self.tool} #{self.pk} {self.status}"
