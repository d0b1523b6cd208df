"""The last audited failover state of each channel, and the fixes BroadcastOps applied.

``FailoverAudit`` is one row per channel: the verdict the last audit gave, the per-input
verdicts, and a fingerprint of the FailOverSettings it saw, so a change of verdict or of the
settings (someone editing the channel in the Tencent console) is noticed, and notified, once.
``FailoverFix`` is one row per applied repair: what was sent, and whether the API showed it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Verdict(models.TextChoices):
    OK = "OK", _("Protected")
    OFF = "OFF", _("Failover off")
    ENABLED_WITHOUT_BACKUP = "ENABLED_WITHOUT_BACKUP", _("Enabled without backup")
    INVALID_SECONDARY = "INVALID_SECONDARY", _("Invalid backup input")
    UNSUPPORTED_INPUT_TYPE = "UNSUPPORTED_INPUT_TYPE", _("Input type without failover")
    THRESHOLD_OUT_OF_RANGE = "THRESHOLD_OUT_OF_RANGE", _("Loss threshold out of range")
    AMBIGUOUS = "AMBIGUOUS", _("Primary and backup unknown")
    PENDING = "PENDING", _("Fix not visible yet")


class FailoverAudit(models.Model):
    """The last audit of one StreamLive channel's input failover."""

    channel = models.OneToOneField(
        "inventory.LiveChannel", on_delete=models.CASCADE, related_name="failover_audit"
    )
    verdict = models.CharField(max_length=32, choices=Verdict.choices, db_index=True)
    reason = models.TextField(blank=True)
    # {"inputs": [...], "mapping": {...}, "causes": [...], "steps": [...], "notes": [...]}
    report = models.JSONField(default=dict, blank=True)
    # Digest of every attached input's FailOverSettings as last seen: a change is drift.
    fingerprint = models.CharField(max_length=64, blank=True)
    # Written when the verdict, reason, report or settings differ from the last audit: an audit
    # that finds nothing new writes nothing.
    audited_at = models.DateTimeField()
    changed_at = models.DateTimeField(help_text="When the verdict last changed")

    class Meta:
        ordering = ["channel__name"]

    def __str__(self) -> str:
        return f"{self.channel} {self.verdict}"

    @property
    def protected(self) -> bool:
        return self.verdict == Verdict.OK


class FailoverFix(models.Model):
    """One repair sent to StreamLive, and whether the API has shown it since."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Applied, not visible yet")
        VERIFIED = "verified", _("Verified")
        CONFIRMED = "confirmed", _("Seen by an audit")
        EXPIRED = "expired", _("Never became visible")

    channel = models.ForeignKey(
        "inventory.LiveChannel", on_delete=models.CASCADE, related_name="failover_fixes"
    )
    action = models.ForeignKey(
        "actions.OperatorAction", null=True, blank=True, on_delete=models.SET_NULL
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    primary_input_id = models.CharField(max_length=64)
    # The FailOverSettings sent for the primary, in the API's shape.
    expected = models.JSONField(default=dict)
    # The fingerprint the channel has once the API shows the fix.
    expected_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    applied_at = models.DateTimeField()
    deadline = models.DateTimeField(help_text="Audits say PENDING until then")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-applied_at"]

    def __str__(self) -> str:
        return f"{self.channel} {self.primary_input_id} {self.status}"
