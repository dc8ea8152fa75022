from django.urls import path
from rest_framework.routers import SimpleRouter

from compliance.aml.api import AmlAlertViewSet, AmlRuleViewSet
from compliance.api import KycViewSet, ListVersionViewSet, MatchViewSet, ScreeningView
from compliance.cases.api import CaseViewSet
from compliance.regulator.api import RegulatorRequestViewSet
from compliance.travel_rule.api import TravelRuleMessageViewSet, TravelRulePartyView

router = SimpleRouter()
router.register("compliance/kyc", KycViewSet, basename="kyc")
router.register("compliance/sanctions/lists", ListVersionViewSet, basename="sanctions-list")
router.register("compliance/sanctions/matches", MatchViewSet, basename="sanctions-match")
# AML monitoring (issue 10, aml part)
router.register("compliance/aml/alerts", AmlAlertViewSet, basename="aml-alert")
router.register("compliance/aml/rules", AmlRuleViewSet, basename="aml-rule")
router.register("compliance/cases", CaseViewSet, basename="case")

router.register("compliance/travel-rule", TravelRuleMessageViewSet, basename="travel-rule")
router.register("compliance/regulator-requests", RegulatorRequestViewSet, basename="regulator-request")

urlpatterns = [
    path("compliance/travel-rule-parties/", TravelRulePartyView.as_view(), name="travel-rule-party"),
    path("compliance/screenings/", ScreeningView.as_view(), name="screening"),
    *router.urls,
]
