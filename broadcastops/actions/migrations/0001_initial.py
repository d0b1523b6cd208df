"""OperatorAction moves here from inventory, rows and all: this takes over the model's state
and the table ``inventory_operatoraction`` as it is; nothing changes in the database.

On a fresh database ``inventory.0001`` has just created the table; on an existing one it holds
the audit trail. ``inventory.0002`` then drops the model from inventory's state, after
``failover.0002`` has pointed its foreign key here.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("inventory", "0001_inventory"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="OperatorAction",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "actor_name",
                            models.CharField(
                                help_text="Kept if the user is deleted",
                                max_length=150,
                                verbose_name="by",
                            ),
                        ),
                        (
                            "action",
                            models.CharField(db_index=True, max_length=64, verbose_name="action"),
                        ),
                        (
                            "target_type",
                            models.CharField(max_length=32, verbose_name="resource type"),
                        ),
                        (
                            "target_id",
                            models.CharField(
                                db_index=True, max_length=64, verbose_name="resource id"
                            ),
                        ),
                        (
                            "target_name",
                            models.CharField(blank=True, max_length=200, verbose_name="resource"),
                        ),
                        (
                            "params",
                            models.JSONField(blank=True, default=dict, verbose_name="parameters"),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("running", "Running"),
                                    ("succeeded", "Succeeded"),
                                    ("failed", "Failed"),
                                ],
                                default="running",
                                max_length=16,
                                verbose_name="status",
                            ),
                        ),
                        (
                            "progress",
                            models.JSONField(blank=True, default=list, verbose_name="progress"),
                        ),
                        (
                            "request_ids",
                            models.JSONField(
                                blank=True, default=list, verbose_name="cloud request ids"
                            ),
                        ),
                        ("outcome", models.TextField(blank=True, verbose_name="outcome")),
                        (
                            "created_at",
                            models.DateTimeField(
                                auto_now_add=True, db_index=True, verbose_name="started"
                            ),
                        ),
                        (
                            "finished_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="finished"),
                        ),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "operator action",
                        "verbose_name_plural": "operator actions",
                        "db_table": "inventory_operatoraction",
                        "ordering": ["-created_at"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("status", "running")),
                                fields=("target_type", "target_id"),
                                name="one_running_action_per_target",
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
