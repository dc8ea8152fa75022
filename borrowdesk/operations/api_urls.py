from django.urls import path

from borrowdesk.operations.api import HealthView

urlpatterns = [path("health/", HealthView.as_view(), name="api-health")]
