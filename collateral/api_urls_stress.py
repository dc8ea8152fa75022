"""The stress API's URL (collateral/api/stress.py), included under /api/v1/ by borrowdesk/urls.py."""

from django.urls import path

from collateral.api.stress import StressView

urlpatterns = [
    path("collateral/stress/", StressView.as_view(), name="collateral-stress"),
]
