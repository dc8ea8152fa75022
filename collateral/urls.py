"""Collateral pages under /collateral/. Each part of the app adds its pages here."""

from django.urls import path

from collateral.views import config, pledges

app_name = "collateral"

urlpatterns = [
    path("config/haircuts/", config.haircuts, name="haircuts"),
    path("config/limits/", config.limits, name="limits"),
    path("config/agreements/", config.agreements, name="agreements"),
    path("config/pending/", config.pending, name="pending"),
    path("config/<slug:kind>/<int:pk>/approve/", config.approve, name="approve"),
    path("config/<slug:kind>/<int:pk>/reject/", config.reject, name="reject"),
    path("scenarios/", config.scenarios, name="scenarios"),
    path("pledges/", pledges.pledges, name="pledges"),
    path("pledges/new/", pledges.pledge_new, name="pledge_new"),
    path("positions/", pledges.positions, name="positions"),
]
