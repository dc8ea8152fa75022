from django.apps import AppConfig


class RefdataConfig(AppConfig):
    name = "borrowdesk.refdata"
    label = "refdata"
    verbose_name = "Reference data"
