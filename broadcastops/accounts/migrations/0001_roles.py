from django.db import migrations


def create_roles(apps, schema_editor):
    from broadcastops.accounts.roles import roles_sync

    roles_sync(
        Group=apps.get_model("auth", "Group"), Permission=apps.get_model("auth", "Permission")
    )


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
