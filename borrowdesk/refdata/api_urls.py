from rest_framework.routers import SimpleRouter

from borrowdesk.refdata.api import (
    AssetViewSet,
    CounterpartyViewSet,
    CustodyAccountViewSet,
    NetworkViewSet,
    PriceViewSet,
    VenueViewSet,
)

router = SimpleRouter()
router.register("assets", AssetViewSet, basename="asset")
router.register("networks", NetworkViewSet, basename="network")
router.register("venues", VenueViewSet, basename="venue")
router.register("counterparties", CounterpartyViewSet, basename="counterparty")
router.register("custody-accounts", CustodyAccountViewSet, basename="custody-account")
router.register("prices", PriceViewSet, basename="price")

urlpatterns = router.urls
