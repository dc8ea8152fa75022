"""The collateral, limits and stress API under /api/v1/ (API.md "Collateral, limits, stress").

Each part of the app adds its routes here. ``limits/{id}/`` takes digits only, so ``limits/breaches/``
stays free for the breaches list.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from collateral.api.config import AgreementViewSet, HaircutRuleViewSet, LimitViewSet, ScenarioViewSet
from collateral.api.pledges import CollateralPositionsView, PledgeViewSet

router = SimpleRouter()
router.register("collateral/haircut-rules", HaircutRuleViewSet, basename="haircut-rule")
router.register("collateral/agreements", AgreementViewSet, basename="agreement")
router.register("collateral/scenarios", ScenarioViewSet, basename="scenario")
router.register("collateral/pledges", PledgeViewSet, basename="pledge")
router.register("limits", LimitViewSet, basename="limit")

urlpatterns = [
    path("collateral/positions/", CollateralPositionsView.as_view(), name="collateral-positions"),
    *router.urls,
]
