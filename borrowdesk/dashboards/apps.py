from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "borrowdesk.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"
