"""FailoverFix.action points at OperatorAction in its new app. The column and its foreign key
do not change (the table is the same), so only the state moves; this runs before inventory
forgets the model, so no state ever points at a model that is gone."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("failover", "0001_initial"),
        ("actions", "0001_initial"),
    ]
    run_before = [("inventory", "0002_operatoraction_moved")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="failoverfix",
                    name="action",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="actions.operatoraction",
                    ),
                ),
            ],
        ),
    ]
