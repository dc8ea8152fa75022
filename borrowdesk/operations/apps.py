from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OperationsConfig(AppConfig):
    name = "borrowdesk.operations"
    label = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from borrowdesk.operations.schedule import sync_schedule

        post_migrate.connect(
            _sync_after_migrate(sync_schedule), dispatch_uid="operations.sync_schedule", weak=False
        )


def _sync_after_migrate(sync):
    def handler(sender, **kwargs):
        if sender.label == "django_celery_beat":
            sync()

    return handler
