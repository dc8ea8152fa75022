from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccessConfig(AppConfig):
    name = "borrowdesk.access"
    label = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        from borrowdesk.access.roles import sync_roles_after_migrate
        from borrowdesk.audit import install_trigger_helpers_after_migrate

        # Roles get the permissions of apps migrated after the access app (inventory, treasury, …).
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="access.sync_roles")
        # Every trigger's settings look-ups without a subtransaction (borrowdesk/sql/trigger_helpers.sql).
        post_migrate.connect(install_trigger_helpers_after_migrate, dispatch_uid="audit.trigger_helpers")
