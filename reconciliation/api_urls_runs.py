"""Runs, breaks and gate overrides under /api/v1/reconciliation/ (part reconruns)."""

from rest_framework.routers import SimpleRouter

from reconciliation.api_runs import BreakViewSet, GateOverrideViewSet, RunViewSet

router = SimpleRouter()
router.register("runs", RunViewSet, basename="reconciliation-run")
router.register("breaks", BreakViewSet, basename="reconciliation-break")
router.register("gate-overrides", GateOverrideViewSet, basename="reconciliation-gate-override")

urlpatterns = router.urls
