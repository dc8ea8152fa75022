"""Collateral pages under /collateral/, one ``collateral`` namespace. Each part of the app adds its
pages here; the risk pages (``urls_risk.py``), stress, recalls and concentration (``urls_stress.py``),
coverage, margin calls and releases (``urls_valuation.py``), and limit breaches
(``urls_limits.py``) keep their own lists, taken in below
(Django reverses one namespace through one include only)."""

from django.urls import path

from collateral import urls_limits, urls_risk, urls_stress, urls_valuation
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
    *urls_risk.urlpatterns,
    *urls_stress.urlpatterns,
    *urls_valuation.urlpatterns,
    *urls_limits.urlpatterns,
]
