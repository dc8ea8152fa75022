"""The risk pages' URLs (collateral/views/risk.py), in the ``collateral`` namespace.

Kept apart from ``collateral/urls.py`` so the pages of the collateral app can be built side by side;
``collateral/urls.py`` may take these patterns in (``urlpatterns += urls_risk.urlpatterns``) and
``borrowdesk/urls.py`` then include that one module alone (one ``collateral`` namespace).
"""

from django.urls import path

from collateral.views import risk

app_name = "collateral"

urlpatterns = [
    path("counterparties/<str:code>/", risk.counterparty_risk, name="counterparty_risk"),
]
