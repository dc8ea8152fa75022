from django.urls import include, path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("kyc/", views.kyc, name="kyc"),
    path("kyc/<str:code>/", views.kyc_detail, name="kyc_detail"),
    path("kyc/<str:code>/set/", views.set_kyc, name="set_kyc"),
    path("kyc/<str:code>/documents/", views.kyc_upload, name="kyc_upload"),
    path("kyc/<str:code>/documents/<int:pk>/", views.kyc_document, name="kyc_document"),
    path("sanctions/", views.sanctions_lists, name="sanctions_lists"),
    path("sanctions/import/", views.sanctions_import, name="sanctions_import"),
    path("sanctions/import/confirm/", views.sanctions_import_confirm, name="sanctions_import_confirm"),
    path("sanctions/screen/", views.screen, name="screen"),
    path("sanctions/matches/", views.match_queue, name="match_queue"),
    path("sanctions/matches/<int:pk>/", views.match_detail, name="match_detail"),
    path(
        "sanctions/matches/<int:pk>/false-positive/", views.match_false_positive, name="match_false_positive"
    ),
    path("sanctions/matches/<int:pk>/confirm/", views.match_confirm, name="match_confirm"),
    path("", include("compliance.cases.urls")),  # the compliance home and the case pages
]
