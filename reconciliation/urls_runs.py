"""Pages of runs, breaks and the pre-open gate under /reconciliation/ (part reconruns)."""

from django.urls import path

from reconciliation import views_runs as views

app_name = "reconciliation_runs"

urlpatterns = [
    path("breaks/", views.break_queue, name="breaks"),
    path("breaks/<int:pk>/", views.break_detail, name="break_detail"),
    path("breaks/<int:pk>/adjust/", views.break_adjust, name="break_adjust"),
    path("runs/", views.runs, name="runs"),
    path("statistics/", views.statistics, name="statistics"),
    path("gate/", views.gate, name="gate"),
    path("reconciled/", views.reconciled_statement, name="reconciled"),
]
