from django.urls import path

from treasury import views

app_name = "treasury"

urlpatterns = [
    path("settlements/", views.settlements, name="settlements"),
    path("settlements/<int:pk>/settle/", views.settle, name="settle"),
    path("settlements/<int:pk>/fail/", views.fail, name="fail"),
]
