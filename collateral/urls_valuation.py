"""Pages of coverage, margin calls and releases (collateral/views_valuation.py), taken into the
``collateral`` namespace by collateral/urls.py."""

from django.urls import path

from collateral import views_valuation as views

urlpatterns = [
    path("coverage/", views.coverage, name="coverage"),
    path("margin-calls/", views.margin_call_list, name="margin_calls"),
    path("margin-calls/<int:pk>/", views.margin_call_detail, name="margin_call_detail"),
    path("margin-calls/<int:pk>/note/", views.margin_call_note, name="margin_call_note"),
    path("margin-calls/<int:pk>/cancel/", views.margin_call_cancel, name="margin_call_cancel"),
    path("margin-calls/<int:pk>/escalate/", views.margin_call_escalate, name="margin_call_escalate"),
    path("releases/new/", views.release, name="release"),
]
