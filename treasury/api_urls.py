from rest_framework.routers import SimpleRouter

from treasury.api import SettlementViewSet

router = SimpleRouter()
router.register("settlements", SettlementViewSet, basename="settlement")

urlpatterns = router.urls
