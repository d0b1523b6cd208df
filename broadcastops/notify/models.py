from django.db import models


class Notification(models.Model):
    """One alert the console decided to send, and what became of its delivery (the log).

    Repeats of the same ``dedup_key`` inside the de-duplication window do not create rows:
    they increment ``suppressed_count`` on the row that was sent.
    """

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"
        RESOLVED = "resolved", "Resolved"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (no destination configured)"

    event = models.CharField(max_length=64, help_text="What happened, e.g. channel.failover")
    subject = models.CharField(max_length=200, help_text="What it happened to, e.g. a channel id")
    dedup_key = models.CharField(max_length=300, db_index=True)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    title = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    facts = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list, blank=True)
    destination = models.CharField(max_length=32, default="slack")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    suppressed_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subject", "created_at"])]

    def __str__(self) -> str:
        return f"{self.severity} {self.event} {self.subject}"
