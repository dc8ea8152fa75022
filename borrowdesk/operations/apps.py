from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "borrowdesk.operations"
    label = "operations"
    verbose_name = "Operations"
