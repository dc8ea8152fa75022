"""Reconciliation API under /api/v1/reconciliation/ (API.md "Treasury, settlement, reconciliation")."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from reconciliation.api_statements import StatementViewSet

router = SimpleRouter()
router.register("statements", StatementViewSet, basename="statement")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
