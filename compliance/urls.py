from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("kyc/", views.kyc, name="kyc"),
    path("kyc/<str:code>/", views.set_kyc, name="set_kyc"),
]
