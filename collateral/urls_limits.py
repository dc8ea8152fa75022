"""The limit pages' routes, in the ``collateral`` namespace (``collateral:breaches``).

Included from ``borrowdesk/urls.py`` under ``collateral/``. Django keeps one URL namespace per include:
two modules included under the same ``app_name`` cannot both be reversed. So once ``collateral/urls.py``
exists, it takes these patterns into its own list (``*urls_limits.urlpatterns``) and this module's
include in ``borrowdesk/urls.py`` goes.
"""

from django.urls import path

from collateral.views import limits

app_name = "collateral"

urlpatterns = [
    path("limits/breaches/", limits.breaches, name="breaches"),
]
