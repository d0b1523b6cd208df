"""OperatorAction now belongs to ``actions`` (its ``0001`` took the model's state and the
table): inventory forgets the model, and the database keeps the table and its rows."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_inventory"),
        ("actions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="OperatorAction")],
        ),
    ]
