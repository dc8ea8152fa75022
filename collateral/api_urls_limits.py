"""The limits API's breaches route, included in ``/api/v1/`` before the other collateral routes, so
``limits/breaches/`` is never read as a limit's id."""

from django.urls import path

from collateral.api.limits import BreachListView

urlpatterns = [
    path("limits/breaches/", BreachListView.as_view(), name="limit-breaches"),
]
