"""Case pages, inside the ``compliance`` namespace (included by compliance/urls.py)."""

from django.urls import path

from compliance.cases import views

urlpatterns = [
    path("", views.compliance_home, name="home"),
    path("cases/", views.case_queue, name="cases"),
    path("cases/mine/", views.my_cases, name="my_cases"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/backlog/", views.case_backlog, name="case_backlog"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/assign/", views.case_assign, name="case_assign"),
    path("cases/<int:pk>/note/", views.case_note, name="case_note"),
    path("cases/<int:pk>/attach/", views.case_attach, name="case_attach"),
    path("cases/<int:pk>/escalate/", views.case_escalate, name="case_escalate"),
    path("cases/<int:pk>/close/", views.case_close, name="case_close"),
    path("cases/<int:pk>/approve-closure/", views.case_approve_closure, name="case_approve_closure"),
    path("cases/<int:pk>/reject-closure/", views.case_reject_closure, name="case_reject_closure"),
    path("cases/<int:pk>/attachments/<int:attachment_id>/", views.case_attachment, name="case_attachment"),
]
