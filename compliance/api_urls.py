from django.urls import path
from rest_framework.routers import SimpleRouter

from compliance.api import KycViewSet, ListVersionViewSet, MatchViewSet, ScreeningView

router = SimpleRouter()
router.register("compliance/kyc", KycViewSet, basename="kyc")
router.register("compliance/sanctions/lists", ListVersionViewSet, basename="sanctions-list")
router.register("compliance/sanctions/matches", MatchViewSet, basename="sanctions-match")

urlpatterns = [
    path("compliance/screenings/", ScreeningView.as_view(), name="screening"),
    *router.urls,
]
