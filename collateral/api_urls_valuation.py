"""API routes of coverage, margin calls and releases (collateral/api/valuation.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from collateral.api.valuation import CoverageView, MarginCallViewSet, ReleaseView

router = SimpleRouter()
router.register("collateral/margin-calls", MarginCallViewSet, basename="margin-call")

urlpatterns = [
    path("collateral/coverage/", CoverageView.as_view(), name="collateral-coverage"),
    path("collateral/releases/", ReleaseView.as_view(), name="collateral-releases"),
    *router.urls,
]
