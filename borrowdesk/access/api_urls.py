from django.urls import path

from borrowdesk.access.api import TokenView

urlpatterns = [path("auth/token/", TokenView.as_view(), name="api-token")]
