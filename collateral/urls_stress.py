"""The stress, recall suggestions and concentration pages' URLs (collateral/views/{stress,recalls,
monitoring}.py), in the ``collateral`` namespace.

Kept apart from ``collateral/urls.py`` so the collateral pages can be built side by side; like
``urls_risk.py``, ``collateral/urls.py`` takes these patterns in (``urlpatterns += urls_stress.urlpatterns``)
once it exists. Django reverses one namespace through one include only (a second include under the same
namespace is never searched), so until then ``borrowdesk/urls.py`` includes the two lists as one.
"""

from django.urls import path

from collateral.views import monitoring, recalls, stress

app_name = "collateral"

urlpatterns = [
    path("stress/", stress.stress, name="stress"),
    path("recalls/", recalls.recalls, name="recalls"),
    path("concentration/", monitoring.concentration, name="concentration"),
    path("expiries/", monitoring.expiries, name="expiries"),
]
