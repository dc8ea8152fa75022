from django.urls import include, path

from compliance import views
from compliance.aml import views as aml_views
from compliance.travel_rule import views as tr_views

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
    # AML monitoring (issue 10, aml part)
    path("aml/alerts/", aml_views.alerts, name="aml_alerts"),
    path("aml/alerts/<int:pk>/", aml_views.alert_detail, name="aml_alert"),
    path("aml/alerts/<int:pk>/dismiss/", aml_views.alert_dismiss, name="aml_alert_dismiss"),
    path("aml/rules/", aml_views.rules, name="aml_rules"),
    path("aml/rules/<str:code>/", aml_views.rule_edit, name="aml_rule_edit"),
    # Travel rule and regulator requests (issue 10, part "travelrule").
    path("travel-rule/", tr_views.travel_rule_list, name="travel_rule_list"),
    path("travel-rule/<int:pk>/", tr_views.travel_rule_detail, name="travel_rule_detail"),
    path("travel-rule/<int:pk>/export/", tr_views.travel_rule_export, name="travel_rule_export"),
    *[
        path(
            f"travel-rule/<int:pk>/{verb}/",
            tr_views.travel_rule_action,
            {"verb": verb},
            name=f"travel_rule_{verb}",
        )
        for verb in ("rebuild", "send", "acknowledge", "reject")
    ],
    path("regulator/", tr_views.regulator_list, name="regulator_list"),
    path("regulator/new/", tr_views.regulator_new, name="regulator_new"),
    path("regulator/<int:pk>/", tr_views.regulator_detail, name="regulator_detail"),
    *[
        path(
            f"regulator/<int:pk>/{verb}/", tr_views.regulator_action, {"verb": verb}, name=f"regulator_{verb}"
        )
        for verb in ("assign", "respond", "close", "evidence")
    ],
    path(
        "regulator/<int:pk>/evidence/<int:evidence_id>/",
        tr_views.regulator_evidence,
        name="regulator_evidence_file",
    ),
    path("", include("compliance.cases.urls")),  # the compliance home and the case pages
]
