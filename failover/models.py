"""The last audited failover state of each channel, and the fixes BroadcastOps applied.

``FailoverAudit`` is one row per channel: the verdict the last audit gave, the per-input
verdicts, and a fingerprint of the FailOverSettings it saw, so a change of verdict or of the
settings (someone editing the channel in the Tencent console) is noticed, and notified, once.
``FailoverFix`` is one row per applied repair: what was sent, and whether the API showed it.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from broadcastops.i18n import Message


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
        "inventory.LiveChannel",
        on_delete=models.CASCADE,
        related_name="failover_audit",
        verbose_name=_("channel"),
    )
    verdict = models.CharField(_("verdict"), max_length=32, choices=Verdict.choices, db_index=True)
    # A stored message ({"code", "params"}; {"text"} for audits from before codes).
    reason = models.JSONField(_("reason"), default=dict, blank=True)
    # ChannelVerdict.to_json(): {"inputs": [...], "mapping": {...}, "causes": [...],
    # "steps": [...], "notes": [...]}, every sentence a stored message.
    report = models.JSONField(_("report"), default=dict, blank=True)
    # Digest of every attached input's FailOverSettings as last seen: a change is drift.
    fingerprint = models.CharField(_("settings fingerprint"), max_length=64, blank=True)
    # Written when the verdict, reason, report or settings differ from the last audit: an audit
    # that finds nothing new writes nothing.
    audited_at = models.DateTimeField(_("audited at"))
    changed_at = models.DateTimeField(_("changed at"), help_text=_("When the verdict last changed"))

    class Meta:
        ordering = ["channel__name"]
        verbose_name = _("failover audit")
        verbose_name_plural = _("failover audits")

    def __str__(self) -> str:
        return f"{self.channel} {self.verdict}"

    @property
    def protected(self) -> bool:
        return self.verdict == Verdict.OK

    @property
    def reason_message(self) -> Message:
        return Message.from_json(self.reason)

    def report_rendered(self) -> dict[str, Any]:
        """The report with its sentences in the active language."""
        from failover.audit import report_render

        return report_render(self.report or {})


class FailoverFix(models.Model):
    """One repair sent to StreamLive, and whether the API has shown it since."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Applied, not visible yet")
        VERIFIED = "verified", _("Verified")
        CONFIRMED = "confirmed", _("Seen by an audit")
        EXPIRED = "expired", _("Never became visible")

    channel = models.ForeignKey(
        "inventory.LiveChannel",
        on_delete=models.CASCADE,
        related_name="failover_fixes",
        verbose_name=_("channel"),
    )
    action = models.ForeignKey(
        "actions.OperatorAction", null=True, blank=True, on_delete=models.SET_NULL
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("by"),
    )
    primary_input_id = models.CharField(_("primary input"), max_length=64)
    # The FailOverSettings sent for the primary, in the API's shape.
    expected = models.JSONField(_("settings sent"), default=dict)
    # The fingerprint the channel has once the API shows the fix.
    expected_fingerprint = models.CharField(_("expected fingerprint"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, db_index=True)
    applied_at = models.DateTimeField(_("applied at"))
    deadline = models.DateTimeField(_("deadline"), help_text=_("Audits say PENDING until then"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-applied_at"]
        verbose_name = _("failover fix")
        verbose_name_plural = _("failover fixes")

    def __str__(self) -> str:
        return f"{self.channel} {self.primary_input_id} {self.status}"
