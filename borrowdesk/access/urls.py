from django.contrib.auth import views as auth_views
from django.urls import path

from borrowdesk.access import views
from borrowdesk.access.declared import requires
from borrowdesk.access.policy import PUBLIC

app_name = "access"

urlpatterns = [
    path(
        "login/",
        requires(PUBLIC)(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", requires(PUBLIC)(auth_views.LogoutView.as_view()), name="logout"),
    path("audit/", views.audit, name="audit"),
    path("access-log/", views.access_log, name="access_log"),
]
