"""Reconciliation pages under /reconciliation/, one ``reconciliation`` namespace."""

from django.urls import URLPattern, URLResolver, path

from reconciliation import views_statements

app_name = "reconciliation"

urlpatterns: list[URLPattern | URLResolver] = [
    path("statements/", views_statements.statements, name="statements"),
    path("statements/<int:pk>/", views_statements.statement_detail, name="statement_detail"),
    path("statements/upload/", views_statements.statement_upload, name="statement_upload"),
    path(
        "statements/upload/confirm/",
        views_statements.statement_upload_confirm,
        name="statement_upload_confirm",
    ),
]
