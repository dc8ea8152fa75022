from django.urls import path
from rest_framework.routers import SimpleRouter

from inventory.api import (
    AdjustmentView,
    AvailabilityView,
    JournalViewSet,
    LoanViewSet,
    PositionsView,
    ReceiptView,
)

router = SimpleRouter()
router.register("inventory/journals", JournalViewSet, basename="journal")
router.register("loans", LoanViewSet, basename="loan")

urlpatterns = [
    path("inventory/receipts/", ReceiptView.as_view(), name="inventory-receipts"),
    path("inventory/adjustments/", AdjustmentView.as_view(), name="inventory-adjustments"),
    path("inventory/positions/", PositionsView.as_view(), name="inventory-positions"),
    path("inventory/availability/", AvailabilityView.as_view(), name="inventory-availability"),
    *router.urls,
]
