from django.urls import path
from rest_framework.routers import SimpleRouter

from requests_app.api import ApprovalQueueView, BorrowRequestViewSet

router = SimpleRouter()
router.register("borrow-requests", BorrowRequestViewSet, basename="borrow-request")

urlpatterns = [path("queues/approval/", ApprovalQueueView.as_view(), name="approval-queue"), *router.urls]
