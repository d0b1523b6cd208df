"""The audit trail: one row per action anyone took on a cloud resource.

The table is the one ``inventory`` created (``inventory_operatoraction``): the model moved
here with its rows (migrations ``inventory.0002`` and ``actions.0001``).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Origin(models.TextChoices):
    """Where an action came from; ``origin_ref`` names the caller inside it."""

    ADMIN = "admin", _("admin")
    API = "api", _("API")
    COMMAND = "command", _("command line")
    SCHEDULE = "schedule", _("schedule")
    SCALER = "scaler", _("IVS scaler")
    SLACK = "slack", _("Slack")
    MCP = "mcp", _("MCP assistant")
    SYSTEM = "system", _("system")


class OperatorAction(models.Model):
    """Who did what to which resource, when, and how it ended; and, while it runs, which
    worker holds it (the lease) and where a new worker resumes (``state``)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("user"),
    )
    actor_name = models.CharField(
        _("by"), max_length=150, help_text=_("Kept if the user is deleted")
    )
    origin = models.CharField(_("origin"), max_length=16, choices=Origin.choices, blank=True)
    # The caller inside the origin: a Slack user id, an MCP token's owner, a schedule id.
    origin_ref = models.CharField(_("origin reference"), max_length=200, blank=True)
    # The kind, "<target type>.<verb>": channel.restart, flow.start, channel.failover_fix.
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("resource type"), max_length=32)
    target_id = models.CharField(_("resource id"), max_length=64, db_index=True)
    target_name = models.CharField(_("resource"), max_length=200, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    # [{"at", "step" (English), "msg": {"id", "params"}}]: shown in the reader's language.
    progress = models.JSONField(_("progress"), default=list, blank=True)
    request_ids = models.JSONField(_("cloud request ids"), default=list, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)  # English; outcome_msg is translated
    outcome_msg = models.JSONField(default=dict, blank=True)  # {"id", "params"}
    outcome_code = models.CharField(_("outcome code"), max_length=32, blank=True)
    # The structured outcome for programs (a failover fix: {"status": "verified", ...}).
    result = models.JSONField(_("result"), default=dict, blank=True)
    # The runner's checkpoint: what a worker that takes the action over needs to resume.
    state = models.JSONField(default=dict, blank=True)
    # The worker run holding the action; renewed while it runs (ACTIONS_LEASE_S).
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(
        _("attempts"), default=0, help_text=_("Worker runs that took the action")
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        db_table = "inventory_operatoraction"
        ordering = ["-created_at"]
        verbose_name = _("operator action")
        verbose_name_plural = _("operator actions")
        constraints = [
            # One running action per resource: the claim that keeps two operators apart.
            models.UniqueConstraint(
                fields=["target_type", "target_id"],
                condition=models.Q(status="running"),
                name="one_running_action_per_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.target_name or self.target_id}"
