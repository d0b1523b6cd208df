from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "broadcastops.accounts"
    label = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        import broadcastops.checks  # noqa: F401 (registers the project's system checks)
        from broadcastops.accounts.roles import roles_sync_after_migrate

        # Later apps add models (and so permissions) in their own migrations: give the roles
        # their permissions after every migrate, the way Django itself creates permissions.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="broadcastops-roles-sync")
