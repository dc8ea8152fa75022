from django.urls import path

from borrowdesk.operations import views

app_name = "operations"

urlpatterns = [path("jobs/", views.jobrun_list, name="jobrun_list")]
