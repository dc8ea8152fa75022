from django.urls import path

from borrowdesk.dashboards.api import DashboardSummaryView

urlpatterns = [path("dashboard/summary/", DashboardSummaryView.as_view(), name="api-dashboard-summary")]
