"""Reconciliation API under /api/v1/reconciliation/."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
