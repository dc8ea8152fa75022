from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import PUBLIC
from borrowdesk.dashboards import views as dashboard_views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("borrowdesk.access.api_urls")),
    path("", include("borrowdesk.operations.api_urls")),
    path("", include("borrowdesk.refdata.api_urls")),
    path("", include("inventory.api_urls")),
    path("", include("collateral.api_urls_limits")),  # before the other collateral routes
    path("", include("collateral.api_urls_valuation")),
    path("", include("compliance.api_urls")),
    path("", include("collateral.api_urls")),
    path("", include("treasury.api_urls")),
    path("", include("requests_app.api_urls")),
    path("", include("collateral.api_urls_stress")),  # stress runs (collateral/api/stress.py)
    path("reconciliation/", include("reconciliation.api_urls")),
    path("reconciliation/", include("reconciliation.api_urls_runs")),  # runs, breaks, gate (reconruns)
    path("", include("borrowdesk.dashboards.api_urls")),
]

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("accounts/", include("borrowdesk.access.urls")),
    path("refdata/", include("borrowdesk.refdata.urls")),
    path("operations/", include("borrowdesk.operations.urls")),
    path("requests/", include("requests_app.urls")),
    path("inventory/", include("inventory.urls")),
    path("compliance/", include("compliance.urls")),
    # One ``collateral`` namespace: collateral/urls.py takes in the app's page lists.
    path("collateral/", include("collateral.urls")),
    path("treasury/", include("treasury.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("reconciliation/", include("reconciliation.urls_runs")),  # runs, breaks, gate (reconruns)
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", requires(PUBLIC)(SpectacularAPIView.as_view()), name="schema"),
    path("api/docs/", requires(PUBLIC)(SpectacularSwaggerView.as_view(url_name="schema")), name="api-docs"),
]

handler403 = "borrowdesk.views.permission_denied"
handler404 = "borrowdesk.views.not_found"
handler500 = "borrowdesk.views.server_error"
