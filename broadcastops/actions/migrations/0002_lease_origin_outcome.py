"""What the action engine adds to the audit trail: the origin of an action, its outcome as a
code and a translatable sentence, its result and checkpoint, and the lease of the worker
running it.

Rows that were running before (no lease: nobody could follow their worker) are ended as
failed, so their channel is no longer "busy" for ever; new runs take over only leased rows.
The content type moves with the model, so permissions given to groups stay attached.
"""

from django.db import migrations, models
from django.utils import timezone

LEGACY = (
    "Ended by the upgrade to the action engine: it was still marked running, and its worker "
    "could not be followed. Check the resource."
)


def end_unleased_running(apps, schema_editor):
    OperatorAction = apps.get_model("actions", "OperatorAction")
    OperatorAction.objects.filter(status="running", lease_expires_at__isnull=True).update(
        status="failed", outcome=LEGACY, outcome_code="abandoned", finished_at=timezone.now()
    )


def content_type_move(apps, schema_editor, old="inventory", new="actions"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="operatoraction").exists():
        ContentType.objects.filter(app_label=old, model="operatoraction").update(app_label=new)


def content_type_back(apps, schema_editor):
    content_type_move(apps, schema_editor, old="actions", new="inventory")


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="operatoraction",
            name="attempts",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Worker runs that took the action", verbose_name="attempts"
            ),
        ),
        migrations.AddField(
            model_name="operatoraction",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="operatoraction",
            name="lease_owner",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="operatoraction",
            name="origin",
            field=models.CharField(
                blank=True,
                choices=[
                    ("admin", "admin"),
                    ("api", "API"),
                    ("command", "command line"),
                    ("schedule", "schedule"),
                    ("slack", "Slack"),
                    ("mcp", "MCP assistant"),
                    ("system", "system"),
                ],
                max_length=16,
                verbose_name="origin",
            ),
        ),
        migrations.AddField(
            model_name="operatoraction",
            name="origin_ref",
            field=models.CharField(blank=True, max_length=200, verbose_name="origin reference"),
        ),
        migrations.AddField(
            model_name="operatoraction",
            name="outcome_code",
            field=models.CharField(blank=True, max_length=32, verbose_name="outcome code"),
        ),
        migrations.AddField(
            model_name="operatoraction",
            name="outcome_msg",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="operatoraction",
            name="result",
            field=models.JSONField(blank=True, default=dict, verbose_name="result"),
        ),
        migrations.AddField(
            model_name="operatoraction",
            name="state",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(end_unleased_running, migrations.RunPython.noop),
        migrations.RunPython(content_type_move, content_type_back),
    ]
