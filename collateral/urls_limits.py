"""The limit pages' routes, taken into the ``collateral`` namespace by collateral/urls.py
(``collateral:breaches``)."""

from django.urls import path

from collateral.views import limits

urlpatterns = [
    path("limits/breaches/", limits.breaches, name="breaches"),
]
