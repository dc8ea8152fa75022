from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("positions/", views.positions, name="positions"),
    path("availability/", views.availability, name="availability"),
    path("journals/", views.journals, name="journals"),
    path("receipts/new/", views.receipt, name="receipt"),
    path("adjustments/new/", views.adjustment, name="adjustment"),
    path("loans/", views.loans, name="loans"),
    path("loans/<int:pk>/", views.loan_detail, name="loan_detail"),
    path("loans/<int:pk>/return/", views.loan_return, name="loan_return"),
    path("loans/<int:pk>/recall/", views.loan_recall, name="loan_recall"),
    path("loans/<int:pk>/rerate/", views.loan_rerate, name="loan_rerate"),
    path(
        "loans/<int:pk>/rerates/<int:rerate_id>/<str:decision>/",
        views.rerate_decide,
        name="rerate_decide",
    ),
]
