from django.urls import path

from requests_app import views

app_name = "requests_app"

urlpatterns = [
    path("new/", views.new_request, name="new"),
    path("quote/", views.quote, name="quote"),
    path("mine/", views.my_requests, name="mine"),
    path("queue/", views.queue, name="queue"),
    path("export.csv", views.export_csv, name="export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/accept/", views.accept, name="accept"),
    path("<int:pk>/decline/", views.decline, name="decline"),
]
