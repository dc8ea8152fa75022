from rest_framework.routers import SimpleRouter

from compliance.api import KycViewSet

router = SimpleRouter()
router.register("compliance/kyc", KycViewSet, basename="kyc")

urlpatterns = router.urls
